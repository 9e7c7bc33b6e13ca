"""Sharpness-aware minimisation (SAM; Foret et al., 2021, https://arxiv.org/abs/2010.01412) for packed runs.

Each step takes the gradient g at the weights w, moves every replica's weights up its own gradient to
w + radius * g / |g| (the norm over that replica's weights alone, so packed runs stay independent), takes the
gradient there, moves back to w and lets the optimiser step with that second gradient: it seeks weights
whose whole neighbourhood has a low loss. A step costs two forward and backward passes. The batch-norm
moving statistics keep the first pass's update only: they describe the weights the run keeps.
"""

from __future__ import annotations

import keras
import tensorflow as tf

_TINY = 1e-12  # keeps a zero gradient's step at zero


class SharpnessAwareModel(keras.Model):
    """A functional model (`inputs`, `outputs`) trained by SAM; each of `replicas` (sub-models of it) is
    moved by `radius` along its own gradient's direction."""

    def __init__(self, inputs, outputs, *, radius: float, replicas: list[keras.Model], **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.radius = radius
        index = {id(variable): i for i, variable in enumerate(self.trainable_weights)}
        self._replica_weights = [
            [index[id(variable)] for variable in replica.trainable_weights] for replica in replicas
        ]
        self._moving_statistics = [
            variable
            for layer in self._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization)
            for variable in (layer.moving_mean, layer.moving_variance)
        ]

    def _loss_and_gradients(self, x, y):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = self.optimizer.scale_loss(loss)
        return y_pred, loss, tape.gradient(scaled, self.trainable_weights)

    def train_step(self, data):
        x, y = data
        weights = self.trainable_weights
        y_pred, loss, gradients = self._loss_and_gradients(x, y)
        self._loss_tracker.update_state(loss, sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
        steps = []  # (variable, its move up the gradient)
        for indices in self._replica_weights:
            norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(gradients[i])) for i in indices]))
            for i in indices:
                steps.append((weights[i], gradients[i] * (self.radius / (norm + _TINY))))
        statistics = [tf.identity(variable) for variable in self._moving_statistics]
        for variable, step in steps:
            variable.assign_add(step)
        _, _, sharp_gradients = self._loss_and_gradients(x, y)
        for variable, step in steps:
            variable.assign_sub(step)
        for variable, value in zip(self._moving_statistics, statistics):
            variable.assign(value)
        self.optimizer.apply_gradients(zip(sharp_gradients, weights))
        return self.compute_metrics(x, y, y_pred)
