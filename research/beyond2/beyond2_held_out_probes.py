"""The plugin of Beyond II's fourth round of validation probes (research/beyond2/results/, "Fourth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`), each `beyond_deep`'s or
`best`'s recipe with one change:

- `h_affine2`: stronger augmentation, shifts up to 2 pixels and rotations up to 15 degrees;
- `h_elastic`: elastic distortions (0.5 pixel) before the shifts and rotations (`build_digit_net`'s);
- `h_block3`: a third block in the digit net, one 3x3 convolution of 128 channels on its 3x3 maps;
- `h_epochs150`: 150 epochs instead of 100;
- `h_dropout1`: dropout 0.1 instead of 0.3;
- `h_members6`, `h_members8`: `best` with 6 or 8 members instead of 4.

For example:

    python -m tuning.search --plugin research/beyond2/beyond2_held_out_probes.py --variant h_affine2 \
        --lr 0.01 --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_affine2
"""

import keras
from keras import layers

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import DROPOUT, LONG_EPOCHS, adam_cosine


def _deep_net(
    shift_px: int = 1,
    rotation_deg: float = 10,
    elastic: float = 0.0,
    third_block: bool = False,
    dropout: float = DROPOUT,
) -> keras.Model:
    """build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True), with these changes."""
    from kerascmp.models.layers import ElasticDistortion, pixel_scaling

    image = keras.Input((14, 14), name="image")
    x = layers.Reshape((14, 14, 1), dtype="float32")(image)
    if elastic:
        x = ElasticDistortion(alpha=elastic, dtype="float32", name="elastic")(x)
    x = layers.RandomTranslation(
        shift_px / 14, shift_px / 14, fill_mode="constant", dtype="float32", name="shift"
    )(x)
    x = layers.RandomRotation(rotation_deg / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
    x = pixel_scaling()(x)
    blocks = (32, 64, 128) if third_block else (32, 64)
    for block, channels in enumerate(blocks, start=1):
        for k in (1, 2) if block < 3 else (1,):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{block}_{k}")(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        if block < 3:
            x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(dropout)(layers.Flatten()(x))
    x = layers.ReLU()(layers.BatchNormalization()(layers.Dense(200, use_bias=False, name="hidden")(x)))
    x = layers.Dropout(dropout)(x)
    return keras.Model(image, layers.Dense(10, name="logits")(x), name="digit_net")


def _pair_model(**changes):
    def build():
        from kerascmp.models import analytic_comparator, pair_model

        return pair_model(_deep_net(**changes), comparator=analytic_comparator())

    return build


for name, changes, epochs, members in (
    ("h_affine2", {"shift_px": 2, "rotation_deg": 15}, LONG_EPOCHS, 1),
    ("h_elastic", {"elastic": 0.5}, LONG_EPOCHS, 1),
    ("h_block3", {"third_block": True}, LONG_EPOCHS, 1),
    ("h_epochs150", {}, 150, 1),
    ("h_dropout1", {"dropout": 0.1}, LONG_EPOCHS, 1),
    ("h_members6", {}, LONG_EPOCHS, 6),
    ("h_members8", {}, LONG_EPOCHS, 8),
):
    register_variant(
        Variant(
            name,
            _pair_model(**changes),
            Hyperparameters(0.01, 0.4, epochs=epochs),
            optimizer=adam_cosine,
            pairing="repair",
            members=members,
            ablation_of="beyond_deep" if members == 1 else "best",
        )
    )
