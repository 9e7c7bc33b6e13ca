"""Compare your own architecture: a wider digit net (conv 64/128) under the study's protocol.

python -m kerascmp.train --variant wide --plugin examples/wide_digit_net.py
python -m kerascmp.study --variants all,wide --plugin examples/wide_digit_net.py --output-dir results-wide
python -m tuning.search --variant wide --plugin examples/wide_digit_net.py --lr 0.0316,0.1 --c-aux 0.25
"""

import keras
from keras import layers

import kerascmp
from kerascmp.models import pair_model, pixel_scaling


def wide_digit_net() -> keras.Model:
    """The report's digit net with twice its convolution filters: raw (14, 14) image to 10 digit logits."""
    image = keras.Input((14, 14))
    x = layers.Reshape((14, 14, 1))(pixel_scaling()(image))
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.ReLU()(layers.MaxPooling2D(4)(layers.Conv2D(128, 5)(x)))
    x = layers.Dense(200, activation="relu")(layers.Flatten()(x))
    return keras.Model(image, layers.Dense(10)(x), name="digit_net")


kerascmp.register_variant(
    kerascmp.Variant(
        name="wide",
        label="wide digit net (conv 64/128)",
        description="the main architecture with twice the convolution filters",
        build=lambda: pair_model(wide_digit_net()),  # shared by both images, the report's comparison layer
        defaults=kerascmp.Hyperparameters(learning_rate=0.1, c_aux=0.25),
        source="main's defaults, not tuned",
    )
)
