"""The plugin of Beyond II's sixth round of validation probes (research/beyond2/results/, "Sixth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`), each `beyond_sharp`'s
recipe (the deeper digit net, label smoothing 0.1, compared at temperature 0.5) with one change:

- `h_erase`: random erasing of a patch (2-20 % of the image, to the background) in half the training images;
- `h_wide`: twice the channels and hidden units;
- `h_epochs150_sharp`: 150 epochs instead of 100;
- `h_upsample`: the image upsampled to 28x28 (bilinear) before the convolutions, with a third 2x2 pool so
  the dense layer still sees 3x3 maps;
- `h_tta`: the nets of `h_smooth_t50` (the same seeds and training), each scored on its pairs and on
  4 copies shifted by one pixel, their digit probabilities averaged (`Variant.test_time_shifts`);
- `h_best_tta`: the nets of `h_smooth_best` (`best`'s recipe), compared at temperature 0.5 on the pairs and
  the same 4 shifted copies.

For example:

    python -m tuning.search --plugin research/beyond2/beyond2_sixth_probes.py --variant h_erase --lr 0.01 \
        --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_erase
"""

import keras
from keras import layers

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import (
    BEST_MEMBERS,
    COMPARISON_TEMPERATURE,
    DROPOUT,
    LABEL_SMOOTHING,
    LONG_EPOCHS,
    TEST_TIME_SHIFTS,
    adam_cosine,
)


def _deep_net(erase: bool = False, width: int = 1, upsample: bool = False) -> keras.Model:
    """build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True, width=width), with
    this change."""
    from kerascmp.models.layers import pixel_scaling

    image = keras.Input((14, 14), name="image")
    x = layers.Reshape((14, 14, 1), dtype="float32")(image)
    x = layers.RandomTranslation(1 / 14, 1 / 14, fill_mode="constant", dtype="float32", name="shift")(x)
    x = layers.RandomRotation(10 / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
    if erase:  # factor 1.0 draws each image's erasing probability in [0, 1]: half on average
        x = layers.RandomErasing(1.0, (0.02, 0.2), fill_value=0.0, dtype="float32", name="erase")(x)
    x = pixel_scaling()(x)
    if upsample:
        x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    for block, channels in enumerate((32 * width, 64 * width), start=1):
        for k in (1, 2):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{block}_{k}")(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.MaxPooling2D(2)(x)
    if upsample:  # 28 -> 14 -> 7 -> 3, as 14 -> 7 -> 3 without
        x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(DROPOUT)(layers.Flatten()(x))
    x = layers.Dense(200 * width, use_bias=False, name="hidden")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dropout(DROPOUT)(x)
    return keras.Model(image, layers.Dense(10, name="logits")(x), name="digit_net")


def _pair_model(**changes):
    def build():
        from kerascmp.models import analytic_comparator, pair_model

        return pair_model(_deep_net(**changes), comparator=analytic_comparator(COMPARISON_TEMPERATURE))

    return build


for name, changes, epochs, shifts, members in (
    ("h_erase", {"erase": True}, LONG_EPOCHS, (), 1),
    ("h_wide", {"width": 2}, LONG_EPOCHS, (), 1),
    ("h_epochs150_sharp", {}, 150, (), 1),
    ("h_upsample", {"upsample": True}, LONG_EPOCHS, (), 1),
    ("h_tta", {}, LONG_EPOCHS, TEST_TIME_SHIFTS, 1),
    ("h_best_tta", {}, LONG_EPOCHS, TEST_TIME_SHIFTS, BEST_MEMBERS),
):
    register_variant(
        Variant(
            name,
            _pair_model(**changes),
            Hyperparameters(0.01, 0.4, epochs=epochs),
            pairing="repair",
            ablation_of="best" if members > 1 else "beyond_sharp",
            optimizer=adam_cosine,
            label_smoothing=LABEL_SMOOTHING,
            test_time_shifts=shifts,
            members=members,
        )
    )
