"""The fast training path: R independent runs packed into one Keras model, fed from resident tensors.

A study or a grid is many small runs of the same shape. Packing them into one functional model (each
replica its own sub-model, its own data, its own shuffle order) lets one `fit` drive them all, so the
per-step overhead is paid once and TensorFlow runs the replicas' independent ops side by side.

Independence: the packed loss is a weighted sum of per-replica losses, so each replica's gradient is its
own. Per-replica learning rates are folded into its loss weights (exact for plain SGD, which the study
uses), and each replica's shuffle order comes from its own seed, so replica r trains exactly as it would
alone (tests/test_packing.py checks the weights).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

# Up to 10 steps per execution: one Python round trip per epoch of 1000 pairs (see benchmarks/README.md).
MAX_STEPS_PER_EXECUTION = 10


def steps_per_execution(steps_per_epoch: int) -> int:
    """The largest divisor of the epoch's steps up to the maximum, so an execution never spans two epochs."""
    return max(d for d in range(1, min(MAX_STEPS_PER_EXECUTION, steps_per_epoch) + 1) if steps_per_epoch % d == 0)


@dataclass
class Job:
    """One run to pack: a single-input model, its training data and how each output is weighted."""

    model: keras.Model
    x: np.ndarray
    y: dict[str, np.ndarray]
    loss_weights: dict[str, float]
    learning_rate: float
    seed: int
    validation: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
    history: dict[str, list[float]] = field(default_factory=dict)


def _key(replica: int, output: str) -> str:
    return f"r{replica}_{output}"


def pack(jobs: list[Job], replicas: list[keras.Model] | None = None) -> keras.Model:
    """One functional model: input `x{r}` feeds replica r (default: the job's model); outputs `r{r}_{output}`."""
    inputs, outputs = {}, {}
    for r, job in enumerate(jobs):
        replica = replicas[r] if replicas else job.model
        inputs[f"x{r}"] = keras.Input(replica.input_shape[1:], name=f"x{r}")
        for name, tensor in replica(inputs[f"x{r}"]).items():
            if name in job.loss_weights:
                outputs[_key(r, name)] = keras.layers.Identity(name=_key(r, name), dtype="float32")(tensor)
    return keras.Model(inputs, outputs, name="packed")


def epoch_orders(seed: int, n: int, epochs: int) -> np.ndarray:
    """(epochs, n) shuffle orders drawn from the run's own seed, independent of any global RNG."""
    rng = np.random.default_rng([seed, 2])
    return np.stack([rng.permutation(n) for _ in range(epochs)]).astype(np.int32)


def _static_pipeline() -> tf.data.Options:
    """tf.data without its autotuning thread: on this 2-core CPU, destroying an autotuned iterator at the end
    of `fit` stalled one round in two by a fixed ~3 s (benchmarks/README.md); a tiny fixed prefetch is enough."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


_STATIC_PIPELINE = _static_pipeline()


def _training_dataset(jobs: list[Job], epochs: int, batch_size: int) -> tf.data.Dataset:
    n = len(jobs[0].x)
    orders = np.stack([epoch_orders(job.seed, n, epochs) for job in jobs], axis=-1)  # (epochs, n, R)
    xs = [tf.constant(job.x) for job in jobs]
    ys = [{name: tf.constant(values) for name, values in job.y.items() if name in job.loss_weights}
          for job in jobs]

    def gather(index):  # index: (batch, R)
        x = {f"x{r}": tf.gather(xs[r], index[:, r]) for r in range(len(jobs))}
        y = {_key(r, name): tf.gather(values, index[:, r]) for r in range(len(jobs)) for name, values in ys[r].items()}
        return x, y

    epochs_ds = tf.data.Dataset.from_tensor_slices(orders)
    batches = epochs_ds.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    return batches.map(gather).prefetch(2).with_options(_STATIC_PIPELINE)


def _validation_dataset(jobs: list[Job], batch_size: int):
    x = {f"x{r}": job.validation[0] for r, job in enumerate(jobs)}
    y = {_key(r, name): values for r, job in enumerate(jobs) for name, values in job.validation[1].items()
         if name in job.loss_weights}
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size * 5).with_options(_STATIC_PIPELINE)


class EpochProgress(keras.callbacks.Callback):
    """One progress bar over epochs, showing the mean comparison error of the packed runs."""

    def __init__(self, epochs: int, label: str = ""):
        super().__init__()
        self.epochs, self.label = epochs, label

    def on_train_begin(self, logs=None):
        if self.label:
            print(self.label, flush=True)
        self.bar = keras.utils.Progbar(self.epochs, unit_name="epoch", stateful_metrics=["train err %", "val err %"])

    def on_epoch_end(self, epoch, logs=None):
        values = []
        for prefix, name in (("", "train err %"), ("val_", "val err %")):
            accs = [value for key, value in logs.items() if key.endswith("acc") and key.startswith(prefix)
                    and (prefix or not key.startswith("val_"))]
            if accs:
                values.append((name, 100 * (1 - float(np.mean(accs)))))
        self.bar.update(epoch + 1, values=values, finalize=epoch + 1 == self.epochs)


def compile_packed(jobs: list[Job], steps_per_epoch: int, replicas: list[keras.Model] | None = None) -> keras.Model:
    """The packed model, compiled: plain SGD on the weighted sum of every replica's losses."""
    base_lr = max(job.learning_rate for job in jobs)
    model = pack(jobs, replicas)
    model.compile(
        optimizer=keras.optimizers.SGD(base_lr),
        loss={_key(r, name): keras.losses.SparseCategoricalCrossentropy(from_logits=True)
              for r, job in enumerate(jobs) for name in job.loss_weights},
        # lr_r / base_lr is exactly 1.0 when the replicas share a learning rate.
        loss_weights={_key(r, name): weight * job.learning_rate / base_lr
                      for r, job in enumerate(jobs) for name, weight in job.loss_weights.items()},
        metrics={_key(r, name): [keras.metrics.SparseCategoricalAccuracy(name="acc")]
                 for r, job in enumerate(jobs) for name in _monitored(job)},
        steps_per_execution=steps_per_execution(steps_per_epoch),
    )
    return model


def _monitored(job: Job) -> list[str]:
    """The output whose error is tracked per epoch: the comparison, or the digit in a digit-only stage."""
    return [name for name in ("comparison", "digit") if name in job.loss_weights][:1]


# Compiled packed models by configuration. Tracing the training step costs ~1.5 s, a sixth of a run, so
# rounds of one configuration reuse it: the round's fresh weights are copied into a cached replica, trained,
# and copied back. The cache holds clones, never a caller's model.
_compiled: dict[tuple, tuple[keras.Model, list[keras.Model]]] = {}
MAX_CACHED = 4


def _compiled_model(jobs: list[Job], steps: int, cache_key) -> tuple[keras.Model, list[keras.Model]]:
    if cache_key is None:
        return compile_packed(jobs, steps), [job.model for job in jobs]
    if cache_key not in _compiled:
        if len(_compiled) >= MAX_CACHED:
            _compiled.pop(next(iter(_compiled)))
        replicas = [keras.models.clone_model(job.model) for job in jobs]
        _compiled[cache_key] = compile_packed(jobs, steps, replicas), replicas
    return _compiled[cache_key]


def fit_packed(jobs: list[Job], epochs: int, batch_size: int, validation_freq: int = 1,
               verbose: bool = True, label: str = "", cache_key=None) -> None:
    """Train all jobs together; fills each job's `history` with per-epoch error rates (%).

    `cache_key` names the configuration (everything that shapes the graph besides the data and weights):
    calls with an equal key reuse one compiled model.
    """
    n = len(jobs[0].x)
    if any(len(job.x) != n for job in jobs):
        raise ValueError("packed jobs must have the same number of training examples")
    steps = math.ceil(n / batch_size)
    has_validation = all(job.validation is not None for job in jobs)
    if cache_key is not None:
        cache_key = (cache_key, len(jobs), n, batch_size, has_validation)
    model, replicas = _compiled_model(jobs, steps, cache_key)
    for replica, job in zip(replicas, jobs):
        if replica is not job.model:
            replica.set_weights(job.model.get_weights())
    model.optimizer.iterations.assign(0)
    history = model.fit(
        _training_dataset(jobs, epochs, batch_size),
        epochs=epochs,
        steps_per_epoch=steps,
        validation_data=_validation_dataset(jobs, batch_size) if has_validation else None,
        validation_freq=validation_freq,
        callbacks=[EpochProgress(epochs, label)] if verbose else [],
        shuffle=False,  # the dataset shuffles, per replica
        verbose=0,
    ).history
    for replica, job in zip(replicas, jobs):
        if replica is not job.model:
            job.model.set_weights(replica.get_weights())
    single_output = len(model.outputs) == 1  # Keras then drops the output prefix from metric names
    for r, job in enumerate(jobs):
        for prefix in ("", "val_"):
            for name in _monitored(job):
                key = f"{prefix}acc" if single_output else f"{prefix}{_key(r, name)}_acc"
                if key in history:
                    job.history[f"{prefix}{name}_error"] = [100 * (1 - a) for a in history[key]]
