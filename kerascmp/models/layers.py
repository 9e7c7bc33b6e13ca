"""kerascmp's own Keras layers: pixel scaling, noise removal, the analytic comparison, the ensemble's mean.

Each is registered serialisable (package "kerascmp"), so a saved `.keras` model loads once this module is
imported (importing `kerascmp.models` imports it).
"""

from __future__ import annotations

import keras
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
class ProbabilityMean(layers.Layer):
    """An ensemble's digit logits: log of the mean of its members' softmax probabilities, (batch, K, 10) to
    (batch, 10). Its softmax is exactly the members' mean probability."""

    def call(self, member_logits):
        probabilities = ops.softmax(ops.cast(member_logits, "float32"), axis=-1)
        return ops.cast(ops.log(ops.mean(probabilities, axis=1) + 1e-12), self.compute_dtype)
