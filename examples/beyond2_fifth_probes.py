"""The plugin of Beyond II's fifth round of validation probes (tuning/results/beyond2_probes/, "Fifth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`), each `beyond_deep`'s
recipe with one change the Variant API has no switch for:

- `h_smooth`: label smoothing 0.1 on both digit losses, added as a layer's loss (`LabelSmoothing`);
- `h_gap`: global average pooling of the last 3x3 maps instead of flattening them;
- `h_nesterov`: SGD with Nesterov momentum 0.9 and the cosine schedule instead of Adam;
- `h_smooth2`: label smoothing 0.2;
- `h_smooth_best`: `best` (4 members) with label smoothing 0.1.

For example:

    python -m tuning.search --plugin examples/beyond2_fifth_probes.py --variant h_smooth --lr 0.01 \
        --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_smooth
"""

import keras
from keras import layers, ops

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import BEST_MEMBERS, DROPOUT, LONG_EPOCHS, adam_cosine

SMOOTHING = 0.1
C_AUX = 0.4  # beyond_deep's: the smoothing term is weighted like the digit loss it smooths


@keras.saving.register_keras_serializable(package="kerascmp_probes")
class LabelSmoothing(layers.Layer):
    """Identity on digit logits z that, in training, adds weight * mean(logsumexp(z) - mean(z)): the
    cross-entropy to the uniform distribution. Added to a digit loss c * CE(label), with weight c * e, it
    makes c * ((1 - e) CE(label) + e CE(uniform)) / (1 - e), label smoothing e up to a constant factor."""

    def __init__(self, weight: float, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, logits, training=False):
        if training:
            logits32 = ops.cast(logits, "float32")
            uniform_ce = ops.logsumexp(logits32, axis=-1) - ops.mean(logits32, axis=-1)
            self.add_loss(self.weight * ops.mean(uniform_ce))
        return logits

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


def _deep_net(smoothing: float = 0.0, global_pool: bool = False) -> keras.Model:
    """build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True), with these changes."""
    from kerascmp.models.layers import pixel_scaling

    image = keras.Input((14, 14), name="image")
    x = layers.Reshape((14, 14, 1), dtype="float32")(image)
    x = layers.RandomTranslation(1 / 14, 1 / 14, fill_mode="constant", dtype="float32", name="shift")(x)
    x = layers.RandomRotation(10 / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
    x = pixel_scaling()(x)
    for block, channels in enumerate((32, 64), start=1):
        for k in (1, 2):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{block}_{k}")(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x) if global_pool else layers.Flatten()(x)
    x = layers.Dropout(DROPOUT)(x)
    x = layers.ReLU()(layers.BatchNormalization()(layers.Dense(200, use_bias=False, name="hidden")(x)))
    x = layers.Dropout(DROPOUT)(x)
    logits = layers.Dense(10, name="logits")(x)
    if smoothing:
        logits = LabelSmoothing(C_AUX * smoothing, name="label_smoothing")(logits)
    return keras.Model(image, logits, name="digit_net")


def _pair_model(**changes):
    def build():
        from kerascmp.models import analytic_comparator, pair_model

        return pair_model(_deep_net(**changes), comparator=analytic_comparator())

    return build


def sgd_nesterov_cosine(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """SGD with Nesterov momentum 0.9 whose rate decays along a cosine to 0 over the run."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)


for name, changes, optimizer, members in (
    ("h_smooth", {"smoothing": SMOOTHING}, adam_cosine, 1),
    ("h_gap", {"global_pool": True}, adam_cosine, 1),
    ("h_nesterov", {}, sgd_nesterov_cosine, 1),
    ("h_smooth2", {"smoothing": 2 * SMOOTHING}, adam_cosine, 1),
    ("h_smooth_best", {"smoothing": SMOOTHING}, adam_cosine, BEST_MEMBERS),
):
    register_variant(
        Variant(
            name,
            _pair_model(**changes),
            Hyperparameters(0.01, C_AUX, epochs=LONG_EPOCHS),
            optimizer=optimizer,
            pairing="repair",
            members=members,
            ablation_of="beyond_deep" if members == 1 else "best",
        )
    )
