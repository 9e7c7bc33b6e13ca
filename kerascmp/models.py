"""The study's six architectures, built with the Keras Functional API.

Every model takes raw pairs, float32 (batch, 2, 14, 14) in 0-255, and returns a dict of logits:
`comparison` (2), and `digit1`, `digit2` (10 each) where the variant has digit heads.
A variant is a composition of three switches (sharing, noise removal, separate training) over the same
digit net and comparison layer; see `VARIANTS`.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers, ops

# Mean and std of the 2x2-pooled MNIST-train pixels (0-255); scaling lives in the model so that
# exported models take raw pixels.
PIXEL_MEAN = 33.318
PIXEL_STD = 71.427

DIGIT_NET_PARAMS = 104_994
COMPARISON_PARAMS = 42
FC_HIDDEN_UNITS = 532  # 392*532 + 532 + 532*2 + 2 = 210,142 parameters, 0.05 % above the report's 210,030


@dataclass(frozen=True)
class Variant:
    """How a variant composes the shared building blocks."""

    description: str
    shared_weights: bool = True
    noise_removal: bool = False
    separate_training: bool = False
    fully_connected: bool = False

    @property
    def has_digit_heads(self) -> bool:
        return not self.fully_connected

    @property
    def uses_c_aux(self) -> bool:
        """Whether the loss has auxiliary digit terms to weight (separate training uses none)."""
        return self.has_digit_heads and not self.separate_training


VARIANTS: dict[str, Variant] = {
    "main": Variant("shared digit net + auxiliary digit losses"),
    "no_sharing": Variant("two independent digit nets", shared_weights=False),
    "noise_removal": Variant("one-hot argmax of the digit outputs into the comparison", noise_removal=True),
    "separate": Variant("digit net trained first on digits, then frozen", separate_training=True),
    "separate_noise_removal": Variant("separate training + noise removal",
                                      separate_training=True, noise_removal=True),
    "fc_baseline": Variant("fully connected net with the same parameter count", fully_connected=True),
}
VARIANT_NAMES: tuple[str, ...] = tuple(VARIANTS)


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANT_NAMES)}") from None


def pixel_scaling(name: str = "pixel_scaling") -> layers.Layer:
    """Raw 0-255 pixels to zero mean, unit variance."""
    return layers.Rescaling(scale=1.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name=name)


def build_digit_net(name: str = "digit_net") -> keras.Model:
    """The report's digit net: raw (14, 14) image to 10 digit logits, 104,994 parameters."""
    image = keras.Input((14, 14), name="image")
    x = pixel_scaling()(image)
    x = layers.Reshape((14, 14, 1))(x)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)  # -> 12x12x32
    x = layers.Conv2D(64, 5, name="conv2")(x)  # -> 8x8x64
    x = layers.MaxPooling2D(4)(x)  # -> 2x2x64
    x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(200, activation="relu", name="hidden")(x)
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(image, logits, name=name)


@keras.saving.register_keras_serializable(package="kerascmp")
class OneHotArgmax(layers.Layer):
    """Noise removal: replaces digit logits by the one-hot vector of their argmax.

    argmax is piecewise constant, so no gradient flows through this layer: the comparison layer learns
    on the one-hot codes, and the digit net learns only from its auxiliary digit losses.
    """

    def call(self, logits):
        return ops.one_hot(ops.argmax(ops.stop_gradient(logits), axis=-1), ops.shape(logits)[-1],
                           dtype=self.compute_dtype)


def build_comparator(noise_removal: bool = False, paper_relu: bool = False) -> keras.Model:
    """Both digits' logits (2, 10) to the comparison logits: Dense 20 -> 2, 42 parameters.

    The report puts a ReLU after the Dense layer. A ReLU on logits clips every negative logit to 0, so a
    class can only be favoured, never disfavoured, and a pair with both logits clipped is a coin toss; it
    costs accuracy, so it is off unless `paper_relu` asks for the report's version.
    """
    digit_logits = keras.Input((2, 10), name="digit_logits")
    codes = OneHotArgmax(name="one_hot_argmax")(digit_logits) if noise_removal else digit_logits
    codes = layers.Flatten()(codes)
    comparison = layers.Dense(2, activation="relu" if paper_relu else None, name="comparison")(codes)
    return keras.Model(digit_logits, {"comparison": comparison}, name="comparator")


def build_model(variant: str = "main", paper_relu: bool = False, name: str | None = None) -> keras.Model:
    """An uncompiled model for one variant of the study (see `VARIANTS`), named `name` or the variant."""
    spec = get_variant(variant)
    pairs = keras.Input((2, 14, 14), name="pairs")
    if spec.fully_connected:
        return _build_fc_baseline(pairs, name or variant)

    first, second = pairs[:, 0], pairs[:, 1]
    if spec.shared_weights:
        digit_net = build_digit_net()
        digit1, digit2 = digit_net(first), digit_net(second)
    else:
        digit1 = build_digit_net("digit_net_1")(first)
        digit2 = build_digit_net("digit_net_2")(second)
    # Identity layers give the outputs stable names for losses, metrics and export.
    digit1 = layers.Identity(name="digit1")(digit1)
    digit2 = layers.Identity(name="digit2")(digit2)
    comparator = build_comparator(spec.noise_removal, paper_relu)
    comparison = comparator(ops.stack([digit1, digit2], axis=1))["comparison"]
    comparison = layers.Identity(name="comparison")(comparison)
    return keras.Model(pairs, {"comparison": comparison, "digit1": digit1, "digit2": digit2}, name=name or variant)


def _build_fc_baseline(pairs, name: str) -> keras.Model:
    x = pixel_scaling()(pairs)
    x = layers.Flatten()(x)
    x = layers.Dense(FC_HIDDEN_UNITS, activation="relu", name="hidden")(x)
    comparison = layers.Dense(2, name="comparison")(x)
    return keras.Model(pairs, {"comparison": comparison}, name=name)


def digit_classifier(digit_net: keras.Model, two_streams: bool = True, name: str = "digit_classifier") -> keras.Model:
    """The digit net alone, for the first stage of separate training: digits (B, 14, 14) to {"digit": logits}.

    With `two_streams`, digits 2i and 2i+1 go through the same net side by side, as the two digits of a
    pair do: the same logits and loss as one pass, but both cores busy (the study runs each op on one
    core). It then needs even batches.
    """
    digits = keras.Input((14, 14), name="digits")
    if not two_streams:
        return keras.Model(digits, {"digit": digit_net(digits)}, name=name)
    side_by_side = ops.reshape(digits, (-1, 2, 14, 14))
    logits = ops.stack([digit_net(side_by_side[:, 0]), digit_net(side_by_side[:, 1])], axis=1)
    return keras.Model(digits, {"digit": ops.reshape(logits, (-1, 10))}, name=name)


def digit_nets(model: keras.Model) -> list[keras.Model]:
    """The digit sub-models inside a variant model (one when shared, two otherwise)."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name.startswith("digit_net")]


def comparator_of(model: keras.Model) -> keras.Model:
    return model.get_layer("comparator")


def output_names(variant: str) -> tuple[str, ...]:
    """The model's outputs, in order."""
    return ("comparison", "digit1", "digit2") if get_variant(variant).has_digit_heads else ("comparison",)
