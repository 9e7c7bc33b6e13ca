"""The plugin of Beyond II's second round of validation probes (research/beyond2/results/, "More
probes"), each `beyond_deep`'s recipe with one change at no extra training cost:

- `q_zoom`: its augmentation also scales each image by up to ±10 %;
- `q_ema`: the trained weights are the exponential moving average of the last ~100 steps (Adam `use_ema`);
- `q_batch50`: batches of 50 pairs instead of 100.

For example:

    python -m tuning.search --plugin research/beyond2/beyond2_more_probes.py --variant q_zoom \
        --lr 0.01 --c-aux 0.4 --rounds 10 --project-dir tuning/runs/q_zoom
"""

import keras
from keras import layers

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import DROPOUT, LONG_EPOCHS, adam_cosine

EMA_MOMENTUM = 0.99
ZOOM = 0.1


def _zoomed_deep_net() -> keras.Model:
    """build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True), with a random zoom."""
    from kerascmp.models.layers import pixel_scaling

    image = keras.Input((14, 14), name="image")
    x = layers.Reshape((14, 14, 1), dtype="float32")(image)
    x = layers.RandomTranslation(1 / 14, 1 / 14, fill_mode="constant", dtype="float32", name="shift")(x)
    x = layers.RandomRotation(10 / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
    x = layers.RandomZoom(ZOOM, fill_mode="constant", dtype="float32", name="zoom")(x)
    x = pixel_scaling()(x)
    for block, channels in enumerate((32, 64), start=1):
        for k in (1, 2):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{block}_{k}")(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(DROPOUT)(layers.Flatten()(x))
    x = layers.ReLU()(layers.BatchNormalization()(layers.Dense(200, use_bias=False, name="hidden")(x)))
    x = layers.Dropout(DROPOUT)(x)
    return keras.Model(image, layers.Dense(10, name="logits")(x), name="digit_net")


def _pair_model(digit_net):
    def build():
        from kerascmp.models import analytic_comparator, build_digit_net, pair_model

        net = (
            digit_net()
            if digit_net
            else build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True)
        )
        return pair_model(net, comparator=analytic_comparator())

    return build


def adam_cosine_ema(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """beyond_deep's Adam + cosine, keeping a moving average of the weights that replaces them at the end."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.Adam(schedule, use_ema=True, ema_momentum=EMA_MOMENTUM)


_DEEP = {"pairing": "repair", "ablation_of": "beyond_deep"}
for name, digit_net, optimizer, batch_size in (
    ("q_zoom", _zoomed_deep_net, adam_cosine, 100),
    ("q_ema", None, adam_cosine_ema, 100),
    ("q_batch50", None, adam_cosine, 50),
):
    register_variant(
        Variant(
            name,
            _pair_model(digit_net),
            Hyperparameters(0.01, 0.4, epochs=LONG_EPOCHS, batch_size=batch_size),
            optimizer=optimizer,
            **_DEEP,
        )
    )
