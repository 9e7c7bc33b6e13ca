"""The study's nets, built with the Keras Functional API: the digit net, the comparators, pair models.

The report's variants are compositions of switches (sharing, noise removal, the report's ReLU) over the
same digit net and comparison layer; kerascmp.variants.report names them.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from kerascmp.models.layers import (
    AnalyticComparison,
    ElasticDistortion,
    ImageRotation,
    OneHotArgmax,
    PixelShift,
    ProbabilityMean,
    Sharpening,
    pixel_scaling,
)
from kerascmp.names import COMPARISON, DIGIT, DIGIT1, DIGIT2

DIGIT_NET_PARAMS = 104_994
COMPARISON_PARAMS = 42
FC_HIDDEN_UNITS = 532  # 392*532 + 532 + 532*2 + 2 = 210,142 parameters, 0.05 % above the report's 210,030


def build_digit_net(
    name: str = "digit_net",
    *,
    batch_norm: bool = False,
    dropout: float = 0.0,
    augment: bool = False,
    elastic: float = 0.0,
    width: int = 1,
    deep: bool = False,
    upsample: bool = False,
) -> keras.Model:
    """The report's digit net: raw (14, 14) image to 10 digit logits, 104,994 parameters.

    Beyond the report, as switches: `augment` shifts (up to 1 pixel) and rotates (up to 10 degrees) each
    training image, `elastic` distorts it elastically (displacements of that std in pixels;
    `ElasticDistortion`), `batch_norm` normalises every hidden layer, `dropout` drops hidden units; all four
    are inactive at inference. `width` multiplies every hidden layer's channels and units. `deep` replaces the
    report's two convolutions (3x3, 5x5, then a 4x4 pool to 2x2) with four 3x3 ones ('same' padding; 32, 32,
    64, 64 channels) and a 2x2 pool after each pair, to 3x3x64. `upsample` (deep only) gives that net the
    image upsampled to 28x28 (bilinear) and a third 2x2 pool, so the same parameters see finer maps at
    about 4x the convolutions' cost.
    """
    if upsample and not deep:
        raise ValueError("upsample needs the deep digit net (deep=True)")
    image = keras.Input((14, 14), name="image")
    if augment or elastic:  # on raw pixels, in float32: the background is 0, the fill value
        x = layers.Reshape((14, 14, 1), dtype="float32")(image)
        if elastic:
            x = ElasticDistortion(alpha=elastic, dtype="float32", name="elastic")(x)
        if augment:
            x = layers.RandomTranslation(1 / 14, 1 / 14, fill_mode="constant", dtype="float32", name="shift")(
                x
            )
            x = layers.RandomRotation(10 / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
        x = pixel_scaling()(x)
    else:
        x = layers.Reshape((14, 14, 1))(pixel_scaling()(image))

    def hidden(x, layer, activation=True):
        x = layer(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        return layers.ReLU()(x) if activation else x

    if upsample:
        x = layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(x)
    if deep:  # 14 -> 7 -> 3: small kernels, gentle pooling (28 -> 14 -> 7 -> 3 upsampled)
        for block, channels in enumerate((32 * width, 64 * width), start=1):
            for k in (1, 2):
                x = hidden(
                    x,
                    layers.Conv2D(
                        channels, 3, padding="same", use_bias=not batch_norm, name=f"conv{block}_{k}"
                    ),
                )
            x = layers.MaxPooling2D(2)(x)
        if upsample:
            x = layers.MaxPooling2D(2)(x)
    else:
        x = hidden(x, layers.Conv2D(32 * width, 3, use_bias=not batch_norm, name="conv1"))  # -> 12x12x32
        x = hidden(
            x, layers.Conv2D(64 * width, 5, use_bias=not batch_norm, name="conv2"), activation=False
        )  # 8x8
        x = layers.MaxPooling2D(4)(x)  # -> 2x2x64
        x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = hidden(x, layers.Dense(200 * width, use_bias=not batch_norm, name="hidden"))
    if dropout:
        x = layers.Dropout(dropout)(x)
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(image, logits, name=name)


def analytic_comparator(temperature: float = 1.0) -> keras.Model:
    """Both digits' logits (2, 10) to the comparison logits through `AnalyticComparison`: no parameters.
    A `temperature` other than 1 sharpens (or softens) the digits first, at inference only (`Sharpening`)."""
    digit_logits = keras.Input((2, 10), name="digit_logits")
    x = digit_logits if temperature == 1.0 else Sharpening(temperature, name="sharpening")(digit_logits)
    comparison = AnalyticComparison(name=COMPARISON)(x)
    return keras.Model(digit_logits, {COMPARISON: comparison}, name="comparator")


def ensemble_model(
    members: list[keras.Model],
    shifts: tuple[tuple[int, int], ...] = (),
    rotations: tuple[float, ...] = (),
    name: str = "ensemble",
) -> keras.Model:
    """K trained pair models with digit heads as one pair model: each digit's probabilities are the mean
    over members and views, and the comparison is the exact P(a <= b) of those means (`AnalyticComparison`).
    The views are the pairs as given and, for test-time augmentation, moved by each (rows, cols) of `shifts`
    (`PixelShift`) and turned by each angle of `rotations` in degrees (`ImageRotation`, in float32). The
    members are renamed "member_<k>": names must be unique within a model. The ensemble compares as its
    first member does, at its comparison temperature."""
    pairs = keras.Input((2, 14, 14), name="pairs")
    views = [pairs] + [PixelShift(rows, cols, name=f"shift_{rows}_{cols}")(pairs) for rows, cols in shifts]
    views += [
        ImageRotation(degrees, dtype="float32", name=f"rotation_{k}")(pairs)
        for k, degrees in enumerate(rotations)
    ]
    for k, member in enumerate(members):
        member.name = f"member_{k}"
    outputs = [member(view) for member in members for view in views]
    digits = {
        output: layers.Identity(name=output)(
            ProbabilityMean(name=f"{output}_mean")(ops.stack([o[output] for o in outputs], axis=1))
        )
        for output in (DIGIT1, DIGIT2)
    }
    comparator = analytic_comparator(comparison_temperature(members[0]))
    comparison = comparator(ops.stack([digits[DIGIT1], digits[DIGIT2]], axis=1))[COMPARISON]
    comparison = layers.Identity(name=COMPARISON)(comparison)
    return keras.Model(pairs, {COMPARISON: comparison, **digits}, name=name)


def build_comparator(noise_removal: bool = False, paper_relu: bool = False) -> keras.Model:
    """Both digits' logits (2, 10) to the comparison logits: Dense 20 -> 2, 42 parameters.

    The report puts a ReLU after the Dense layer. A ReLU on logits clips every negative logit to 0, so a
    class can only be favoured, never disfavoured, and a pair with both logits clipped is a coin toss; it
    costs accuracy, so it is off unless `paper_relu` asks for the report's version.
    """
    digit_logits = keras.Input((2, 10), name="digit_logits")
    codes = OneHotArgmax(name="one_hot_argmax")(digit_logits) if noise_removal else digit_logits
    codes = layers.Flatten()(codes)
    comparison = layers.Dense(2, activation="relu" if paper_relu else None, name=COMPARISON)(codes)
    return keras.Model(digit_logits, {COMPARISON: comparison}, name="comparator")


def build_report_model(
    *,
    shared_weights: bool = True,
    noise_removal: bool = False,
    fully_connected: bool = False,
    paper_relu: bool = False,
    analytic: bool = False,
) -> keras.Model:
    """An uncompiled model of the report's: one digit net shared by both images (or two, or an MLP) and
    the comparison layer. Separate training changes how a model trains (kerascmp.engine.runs), not the
    model."""
    if fully_connected:
        return _build_fc_baseline()
    # Digit nets first, then the comparator: the order in which a seed initialises the weights.
    first = build_digit_net() if shared_weights else build_digit_net("digit_net_1")
    second = None if shared_weights else build_digit_net("digit_net_2")
    comparator = analytic_comparator() if analytic else build_comparator(noise_removal, paper_relu)
    return pair_model(first, second_digit_net=second, comparator=comparator)


def pair_model(
    digit_net: keras.Model,
    *,
    second_digit_net: keras.Model | None = None,
    comparator: keras.Model | None = None,
    name: str = "pair_model",
) -> keras.Model:
    """The composition every variant with digit heads shares: `digit_net` reads the first image (and the
    second too, weights shared, unless `second_digit_net` is given); `comparator` (default: the report's
    Dense 20 -> 2) maps both digits' logits (batch, 2, 10) to {COMPARISON: logits}."""
    pairs = keras.Input((2, 14, 14), name="pairs")
    second_digit_net = second_digit_net or digit_net
    comparator = comparator or build_comparator()
    # Identity layers give the outputs stable names for losses, metrics and export.
    digit1 = layers.Identity(name=DIGIT1)(digit_net(pairs[:, 0]))
    digit2 = layers.Identity(name=DIGIT2)(second_digit_net(pairs[:, 1]))
    comparison = comparator(ops.stack([digit1, digit2], axis=1))[COMPARISON]
    comparison = layers.Identity(name=COMPARISON)(comparison)
    return keras.Model(pairs, {COMPARISON: comparison, DIGIT1: digit1, DIGIT2: digit2}, name=name)


def _build_fc_baseline() -> keras.Model:
    pairs = keras.Input((2, 14, 14), name="pairs")
    x = pixel_scaling()(pairs)
    x = layers.Flatten()(x)
    x = layers.Dense(FC_HIDDEN_UNITS, activation="relu", name="hidden")(x)
    comparison = layers.Dense(2, name=COMPARISON)(x)
    return keras.Model(pairs, {COMPARISON: comparison}, name="fc_baseline")


def digit_classifier(
    digit_net: keras.Model, two_streams: bool = True, name: str = "digit_classifier"
) -> keras.Model:
    """The digit net alone, for the first stage of staged training: digits (B, 14, 14) to {DIGIT: logits}.

    With `two_streams`, digits 2i and 2i+1 go through the same net side by side, as the two digits of a
    pair do: the same logits and loss as one pass, but both cores busy (the study runs each op on one
    core). It then needs even batches.
    """
    digits = keras.Input((14, 14), name="digits")
    if not two_streams:
        return keras.Model(digits, {DIGIT: digit_net(digits)}, name=name)
    side_by_side = ops.reshape(digits, (-1, 2, 14, 14))
    logits = ops.stack([digit_net(side_by_side[:, 0]), digit_net(side_by_side[:, 1])], axis=1)
    return keras.Model(digits, {DIGIT: ops.reshape(logits, (-1, 10))}, name=name)


def digit_nets(model: keras.Model) -> list[keras.Model]:
    """The digit sub-models inside a variant model (one when shared, two otherwise)."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.Model) and layer.name.startswith("digit_net")
    ]


def comparator_of(model: keras.Model) -> keras.Model:
    return model.get_layer("comparator")


def comparison_temperature(model: keras.Model) -> float:
    """The temperature at which a pair model's comparator reads its digits (1: as they are)."""
    sharpening = [layer for layer in comparator_of(model).layers if isinstance(layer, Sharpening)]
    return sharpening[0].temperature if sharpening else 1.0


def architecture_fingerprint(model: keras.Model) -> dict:
    """What identifies an architecture whatever its layers are named: its parameter count and a hash of
    every layer's class and configuration (names left out: Keras numbers unnamed layers per process)."""
    import hashlib
    import json

    def described(layer: layers.Layer) -> list:
        if isinstance(layer, keras.Model):  # a sub-model: its layers, in order
            return [type(layer).__name__, [described(inner) for inner in layer.layers]]
        try:
            config = {k: v for k, v in layer.get_config().items() if k != "name"}
        except NotImplementedError:  # a user's layer without get_config: its class and weights say enough
            config = {}
        return [type(layer).__name__, config, [list(w.shape) for w in layer.weights]]

    text = json.dumps(described(model), sort_keys=True, default=str)
    return {"parameters": int(model.count_params()), "sha256": hashlib.sha256(text.encode()).hexdigest()[:16]}
