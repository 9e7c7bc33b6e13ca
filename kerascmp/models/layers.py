"""kerascmp's own Keras layers: pixel scaling, noise removal, the analytic comparison and its sharpening, the
ensemble's mean, the test-time views (shifts, rotations), elastic distortion.

Each is registered serialisable (package "kerascmp"), so a saved `.keras` model loads once this module is
imported (importing `kerascmp.models` imports it).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

# Mean and std of the 2x2-pooled MNIST-train pixels (0-255); scaling lives in the model so that
# exported models take raw pixels.
PIXEL_MEAN = 33.318
PIXEL_STD = 71.427


def pixel_scaling(name: str = "pixel_scaling") -> layers.Layer:
    """Raw 0-255 pixels to zero mean, unit variance."""
    return layers.Rescaling(scale=1.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name=name)


@keras.saving.register_keras_serializable(package="kerascmp")
class OneHotArgmax(layers.Layer):
    """Noise removal: replaces digit logits by the one-hot vector of their argmax, the first on a tie.

    argmax is piecewise constant, so no gradient flows through this layer: the comparison layer learns
    on the one-hot codes, and the digit net learns only from its auxiliary digit losses. Written with
    max, equal and cumsum rather than `ops.argmax`, whose TensorFlow kernel breaks ties unspecified and
    whose -0.0 fix (Bitcast, BitwiseAnd) neither tf2onnx nor the TFLite converter converts.
    """

    def call(self, logits):
        logits = ops.stop_gradient(logits)
        is_max = ops.cast(ops.equal(logits, ops.max(logits, axis=-1, keepdims=True)), "int32")
        first_max = ops.equal(ops.cumsum(is_max, axis=-1) * is_max, 1)  # the first index holding the max
        return ops.cast(first_max, self.compute_dtype)


@keras.saving.register_keras_serializable(package="kerascmp")
class AnalyticComparison(layers.Layer):
    """The exact comparison, given each digit's probabilities: P(a <= b) = sum over i <= j of p_a(i) p_b(j).

    No parameters, differentiable (it trains the digit net end to end). Returns the two comparison logits
    log(1 - p), log(p), whose softmax is exactly (1 - p, p), so the loss, the metrics and the export treat
    it like the learned layer.
    """

    def call(self, digit_logits):
        probabilities = ops.softmax(ops.cast(digit_logits, "float32"), axis=-1)  # (batch, 2, 10)
        first, second = probabilities[:, 0], probabilities[:, 1]
        leq = ops.triu(ops.ones((10, 10), dtype="float32"))  # leq[i, j] = 1 where i <= j
        p_leq = ops.sum(ops.matmul(first, leq) * second, axis=-1)
        p_leq = ops.clip(p_leq, 1e-7, 1.0 - 1e-7)
        return ops.cast(ops.stack([ops.log(1.0 - p_leq), ops.log(p_leq)], axis=-1), self.compute_dtype)


@keras.saving.register_keras_serializable(package="kerascmp")
class Sharpening(layers.Layer):
    """Digit logits divided by `temperature` at inference, unchanged in training: T < 1 sharpens the digit
    probabilities the comparison reads. Nets trained with label smoothing keep a floor of probability on
    every class, which can put P(a <= b) on the wrong side of 1/2 though both digits are read right."""

    def __init__(self, temperature: float, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, logits, training=False):
        return logits if training else logits / ops.cast(self.temperature, logits.dtype)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="kerascmp")
class ProbabilityMean(layers.Layer):
    """An ensemble's digit logits: log of the mean of its members' softmax probabilities, (batch, K, 10) to
    (batch, 10). Its softmax is exactly the members' mean probability."""

    def call(self, member_logits):
        probabilities = ops.softmax(ops.cast(member_logits, "float32"), axis=-1)
        return ops.cast(ops.log(ops.mean(probabilities, axis=1) + 1e-12), self.compute_dtype)


@keras.saving.register_keras_serializable(package="kerascmp")
class PixelShift(layers.Layer):
    """Images moved by whole pixels, `rows` down and `cols` right, background 0: a test-time view.
    Acts on the last two axes, so a batch of pairs (batch, 2, 14, 14) moves both its images."""

    def __init__(self, rows: int = 0, cols: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.rows, self.cols = int(rows), int(cols)

    def call(self, images):
        height, width = images.shape[-2], images.shape[-1]
        padding = [[0, 0]] * (len(images.shape) - 2)
        padding += [[max(self.rows, 0), max(-self.rows, 0)], [max(self.cols, 0), max(-self.cols, 0)]]
        padded = ops.pad(images, padding)
        top, left = max(-self.rows, 0), max(-self.cols, 0)
        return padded[..., top : top + height, left : left + width]

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "cols": self.cols}


@keras.saving.register_keras_serializable(package="kerascmp")
class ImageRotation(layers.Layer):
    """Images rotated by `degrees` about their centre, anticlockwise as displayed (scipy.ndimage.rotate's
    turn, order 1, mode "grid-constant"), background 0: a test-time view. Acts on the last two axes, so a
    batch of pairs (batch, 2, 14, 14) turns both its images. A fixed resampling is a linear map of the
    pixels, so the layer is one float32 matrix product: exact, and plain for every export runtime."""

    def __init__(self, degrees: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.degrees = float(degrees)

    def build(self, input_shape):
        self._resampling = rotation_resampling(self.degrees, input_shape[-2], input_shape[-1])

    def call(self, images):
        height, width = images.shape[-2], images.shape[-1]
        pixels = ops.reshape(ops.cast(images, "float32"), (-1, height * width))
        rotated = ops.matmul(pixels, ops.convert_to_tensor(self._resampling))
        return ops.cast(ops.reshape(rotated, (-1, *images.shape[1:])), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "degrees": self.degrees}


def rotation_resampling(degrees: float, height: int, width: int) -> np.ndarray:
    """The (height*width, height*width) matrix that turns a flattened image (a row) by `degrees` about its
    centre: each output pixel is its source point's bilinear mix of the 4 pixels around it, those
    outside the image reading 0."""
    angle = math.radians(degrees)
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    # each output pixel's source: the output point turned back about the centre
    source_rows = centre_row + math.cos(angle) * (rows - centre_row) + math.sin(angle) * (cols - centre_col)
    source_cols = centre_col - math.sin(angle) * (rows - centre_row) + math.cos(angle) * (cols - centre_col)
    resampling = np.zeros((height * width, height * width), "float64")
    outputs = np.arange(height * width).reshape(height, width)
    for neighbour_rows in (np.floor(source_rows), np.floor(source_rows) + 1):
        for neighbour_cols in (np.floor(source_cols), np.floor(source_cols) + 1):
            weight = (1 - np.abs(source_rows - neighbour_rows)) * (1 - np.abs(source_cols - neighbour_cols))
            inside = (neighbour_rows >= 0) & (neighbour_rows < height)
            inside &= (neighbour_cols >= 0) & (neighbour_cols < width)
            sources = (neighbour_rows * width + neighbour_cols)[inside].astype(int)
            np.add.at(resampling, (sources, outputs[inside]), weight[inside])
    return resampling.astype("float32")


@keras.saving.register_keras_serializable(package="kerascmp")
class ElasticDistortion(layers.Layer):
    """Elastic distortion of training images (Simard, Steinkraus and Platt, 2003), inactive at inference.

    Each image gets its own displacement field: uniform noise in [-1, 1] per pixel and axis, smoothed with
    a Gaussian of `sigma` pixels and scaled so that each displacement has a standard deviation of `alpha`
    pixels; the image is resampled bilinearly along it (background 0). Input (batch, height, width, 1).
    """

    def __init__(self, alpha: float = 0.5, sigma: float = 2.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha, self.sigma, self.seed = float(alpha), float(sigma), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        radius = max(1, math.ceil(2 * self.sigma))
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / self.sigma) ** 2)
        self._taps = (taps / taps.sum()).astype("float32")
        # smoothed uniform noise has std sum(taps^2) / sqrt 3 in 2-D (separable kernel): scaled to alpha
        self._scale = float(self.alpha / (np.sum(self._taps**2) / math.sqrt(3)))

    def _smooth(self, field):
        taps = ops.convert_to_tensor(self._taps)
        k = len(self._taps)
        rows = ops.tile(ops.reshape(taps, (k, 1, 1, 1)), (1, 1, 2, 1))  # depthwise: both axes' fields
        cols = ops.tile(ops.reshape(taps, (1, k, 1, 1)), (1, 1, 2, 1))
        return ops.depthwise_conv(ops.depthwise_conv(field, rows, padding="same"), cols, padding="same")

    def call(self, images, training=None):
        if not training:
            return images
        images = ops.cast(images, "float32")
        shape = ops.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        noise = keras.random.uniform((batch, height, width, 2), -1.0, 1.0, seed=self.seed_generator)
        field = self._smooth(noise) * self._scale
        grid_rows, grid_cols = ops.meshgrid(
            ops.cast(ops.arange(height), "float32"), ops.cast(ops.arange(width), "float32"), indexing="ij"
        )
        warped = _bilinear(images[..., 0], grid_rows + field[..., 0], grid_cols + field[..., 1])
        return ops.cast(warped[..., None], self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "sigma": self.sigma, "seed": self.seed}


def _bilinear(images, rows, cols):
    """images (batch, height, width) sampled at fractional (rows, cols) of the same shape, 0 outside.

    Written with take rather than `ops.image.map_coordinates`, which needs a static batch size."""
    shape = ops.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    flat = ops.reshape(images, (-1,))
    offset = ops.reshape(ops.arange(batch) * height * width, (-1, 1, 1))
    row0, col0 = ops.floor(rows), ops.floor(cols)
    sampled = ops.zeros_like(rows)
    for d_row in (0, 1):
        for d_col in (0, 1):
            r, c = row0 + d_row, col0 + d_col
            weight = (1 - ops.abs(rows - r)) * (1 - ops.abs(cols - c))
            inside = (r >= 0) & (r <= ops.cast(height - 1, "float32")) & (c >= 0)
            inside = inside & (c <= ops.cast(width - 1, "float32"))
            index = offset + ops.cast(ops.clip(r, 0, height - 1), "int32") * width
            index = index + ops.cast(ops.clip(c, 0, width - 1), "int32")
            sampled = sampled + ops.where(inside, weight * ops.take(flat, index), 0.0)
    return sampled
