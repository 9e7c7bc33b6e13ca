"""The plugin of Beyond II's fifth round of validation probes (research/beyond2/results/, "Fifth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`), each `beyond_deep`'s or
`best`'s recipe with one change:

- `h_smooth`, `h_smooth2`: label smoothing 0.1 or 0.2 on both digit losses (`Variant.label_smoothing`);
- `h_gap`: global average pooling of the digit net's last 3x3 maps instead of flattening them;
- `h_nesterov`: SGD with Nesterov momentum 0.9 and the cosine schedule instead of Adam;
- `h_smooth_best`: `best` (4 members) with label smoothing 0.1;
- `h_smooth_t50`, `h_smooth_t25`: `h_smooth` comparing digit probabilities sharpened at temperature 0.5 or
  0.25 (`analytic_comparator(temperature)`, `Sharpening` at inference only: the same training as `h_smooth`).

For example:

    python -m tuning.search --plugin research/beyond2/beyond2_fifth_probes.py --variant h_smooth --lr 0.01 \
        --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_smooth
"""

import keras
from keras import layers

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import BEST_MEMBERS, DROPOUT, LONG_EPOCHS, adam_cosine


def _deep_net(global_pool: bool = False) -> keras.Model:
    """build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True), with this change."""
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
    return keras.Model(image, layers.Dense(10, name="logits")(x), name="digit_net")


def _pair_model(temperature: float = 1.0, **changes):
    def build():
        from kerascmp.models import analytic_comparator, pair_model

        return pair_model(_deep_net(**changes), comparator=analytic_comparator(temperature))

    return build


def sgd_nesterov_cosine(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """SGD with Nesterov momentum 0.9 whose rate decays along a cosine to 0 over the run."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)


for name, changes, recipe in (
    ("h_smooth", {}, {"label_smoothing": 0.1}),
    ("h_smooth2", {}, {"label_smoothing": 0.2}),
    ("h_gap", {"global_pool": True}, {}),
    ("h_nesterov", {}, {"optimizer": sgd_nesterov_cosine}),
    ("h_smooth_best", {}, {"label_smoothing": 0.1, "members": BEST_MEMBERS}),
    ("h_smooth_t50", {"temperature": 0.5}, {"label_smoothing": 0.1}),
    ("h_smooth_t25", {"temperature": 0.25}, {"label_smoothing": 0.1}),
):
    register_variant(
        Variant(
            name,
            _pair_model(**changes),
            Hyperparameters(0.01, 0.4, epochs=LONG_EPOCHS),
            pairing="repair",
            ablation_of="best" if recipe.get("members") else "beyond_deep",
            **{"optimizer": adam_cosine, **recipe},
        )
    )
