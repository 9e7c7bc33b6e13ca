"""The plugin of Beyond II's ninth round of validation probes (research/beyond2/results/, "Ninth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`): `beyond_tta`'s recipe (the
deeper digit net, label smoothing 0.1, compared at temperature 0.5, each digit also read shifted by a pixel
each way) with one change:

- `h_sam05`, `h_sam10`: trained by sharpness-aware minimisation (`Variant.sam_radius`), radius 0.05 (the SAM
  paper's usual value) or 0.1;
- `h_mixup02`, `h_mixup10`: mixup (`Variant.mixup`), alpha 0.2 or 1;
- `h_upsample_first`: 2 nets (an ensemble, so that beyond2_eighth_views.py saves both nets' logits) whose
  first block sees the image upsampled to 28x28 (bilinear) and whose second block sees 7x7 maps after a
  4x4 pool, as the plain net's does: the upsampled net's finer first maps, at 0.7x its training (measured).

For example:

    python -m tuning.search --plugin research/beyond2/beyond2_ninth_probes.py --variant h_sam05 --lr 0.01 \\
        --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_sam05
"""

from dataclasses import replace

import keras
from keras import layers

from kerascmp import get_variant, register_variant
from kerascmp.variants.beyond import COMPARISON_TEMPERATURE, DROPOUT

for name, change in (
    ("h_sam05", {"sam_radius": 0.05}),
    ("h_sam10", {"sam_radius": 0.1}),
    ("h_mixup02", {"mixup": 0.2}),
    ("h_mixup10", {"mixup": 1.0}),
):
    register_variant(replace(get_variant("beyond_tta"), name=name, label=name, seed_id=None, **change))


def _upsampled_first_block() -> keras.Model:
    """build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True), its first block on the
    image upsampled to 28x28 and pooled 4x4 after it (28 -> 7), so the second block sees 7x7 maps."""
    from kerascmp.models.layers import pixel_scaling

    image = keras.Input((14, 14), name="image")
    x = layers.Reshape((14, 14, 1), dtype="float32")(image)
    x = layers.RandomTranslation(1 / 14, 1 / 14, fill_mode="constant", dtype="float32", name="shift")(x)
    x = layers.RandomRotation(10 / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(pixel_scaling()(x))
    for block, (channels, pool) in enumerate(((32, 4), (64, 2)), start=1):
        for k in (1, 2):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{block}_{k}")(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.MaxPooling2D(pool)(x)
    x = layers.Dropout(DROPOUT)(layers.Flatten()(x))
    x = layers.ReLU()(layers.BatchNormalization()(layers.Dense(200, use_bias=False, name="hidden")(x)))
    logits = layers.Dense(10, name="logits")(layers.Dropout(DROPOUT)(x))
    return keras.Model(image, logits, name="digit_net")


def _upsampled_first_pair_model() -> keras.Model:
    from kerascmp.models import analytic_comparator, pair_model

    return pair_model(_upsampled_first_block(), comparator=analytic_comparator(COMPARISON_TEMPERATURE))


register_variant(
    replace(
        get_variant("beyond_tta"),
        name="h_upsample_first",
        label="h_upsample_first",
        seed_id=None,
        build=_upsampled_first_pair_model,
        members=2,
    )
)
