"""The plugin the Beyond II validation probes ran (research/beyond2/results/, from /tmp/probe/probe.py).

Each `p_*` variant is beyond_long's recipe plus one digit-net change; `p_deep` is what became the `deep`
switch (kerascmp.models.build_digit_net), written out here. Each `*_tta` twin scores the same nets with
test-time shifts. For example:

    python -m tuning.search --plugin research/beyond2/beyond2_probes.py --variant p_deep \
        --lr 0.01 --c-aux 0.4 --rounds 4 --project-dir tuning/runs/p_deep
"""

import keras
from keras import layers

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.seeds import name_id
from kerascmp.variants.beyond import adam_cosine


def _deep_net(width=1, elastic=0.0):
    from kerascmp.models.layers import ElasticDistortion, pixel_scaling

    image = keras.Input((14, 14), name="image")
    x = layers.Reshape((14, 14, 1), dtype="float32")(image)
    if elastic:
        x = ElasticDistortion(alpha=elastic, dtype="float32", name="elastic")(x)
    x = layers.RandomTranslation(1 / 14, 1 / 14, fill_mode="constant", dtype="float32", name="shift")(x)
    x = layers.RandomRotation(10 / 360, fill_mode="constant", dtype="float32", name="rotate")(x)
    x = pixel_scaling()(x)

    def conv(x, ch):
        x = layers.Conv2D(ch, 3, padding="same", use_bias=False)(x)
        return layers.ReLU()(layers.BatchNormalization()(x))

    x = conv(conv(x, 32 * width), 32 * width)
    x = layers.MaxPooling2D(2)(x)  # 7x7
    x = conv(conv(x, 64 * width), 64 * width)
    x = layers.MaxPooling2D(2)(x)  # 3x3
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.ReLU()(layers.BatchNormalization()(layers.Dense(200, use_bias=False)(x)))
    x = layers.Dropout(0.3)(x)
    return keras.Model(image, layers.Dense(10, name="logits")(x), name="digit_net")


def _build(deep=False, **switches):
    def build():
        from kerascmp.models import analytic_comparator, build_digit_net, pair_model

        net = (
            _deep_net(**switches)
            if deep
            else build_digit_net(batch_norm=True, dropout=0.3, augment=True, **switches)
        )
        return pair_model(net, comparator=analytic_comparator())

    return build


for name, switches in {
    "p_long": {},
    "p_elastic": {"elastic": 0.5},
    "p_elastic1": {"elastic": 1.0},
    "p_wide": {"width": 2},
    "p_elastic_wide": {"elastic": 0.5, "width": 2},
    "p_deep": {"deep": True},
    "p_deep_elastic": {"deep": True, "elastic": 0.5},
}.items():
    register_variant(
        Variant(
            name,
            _build(**switches),
            Hyperparameters(0.01, 0.4, epochs=100),
            pairing="repair",
            optimizer=adam_cosine,
            ablation_of="beyond_long",
        )
    )
    # the same trained nets, scored with test-time shifts
    register_variant(
        Variant(
            name + "_tta",
            _build(**switches),
            Hyperparameters(0.01, 0.4, epochs=100),
            pairing="repair",
            optimizer=adam_cosine,
            ablation_of=name,
            seed_id=name_id(name),
            test_time_shifts=((1, 0), (-1, 0), (0, 1), (0, -1)),
        )
    )
