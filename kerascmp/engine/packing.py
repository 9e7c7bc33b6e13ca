"""The fast training path: R independent runs packed into one Keras model, fed from resident tensors.

A study or a grid is many small runs of the same shape. Packing them into one functional model (each
replica its own sub-model, its own data, its own shuffle order) lets one `fit` drive them all, so the
per-step overhead is paid once and TensorFlow runs the replicas' independent ops side by side.

Independence: the packed loss is a weighted sum of per-replica losses, so each replica's gradient is its
own. Replicas share one optimiser; plain SGD replicas may differ in learning rate, folded into their loss
weights (exact for SGD, even with momentum). Each replica's shuffle order comes from its own seed, so
replica r trains exactly as it would alone (tests/test_packing.py checks the weights).
`kerascmp.engine.fitting.Trainer` compiles packed models, trains them and reuses them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from kerascmp import seeds
from kerascmp.engine.sharpness import SharpnessAwareModel
from kerascmp.names import CLASSES, COMPARISON, DIGIT, DIGIT1, DIGIT2, PAIRINGS

# Up to 10 steps per execution: one Python round trip per epoch of 1000 pairs (see benchmarks/README.md).
MAX_STEPS_PER_EXECUTION = 10


def steps_per_execution(steps_per_epoch: int) -> int:
    """The largest divisor of the epoch's steps up to the maximum, so an execution never spans two epochs."""
    return max(
        d for d in range(1, min(MAX_STEPS_PER_EXECUTION, steps_per_epoch) + 1) if steps_per_epoch % d == 0
    )


@dataclass(frozen=True)
class Job:
    """One run to pack: a single-input model, its training data, how each output's loss is weighted, and
    its optimiser (a fresh, unbuilt one; the pack's optimiser is made from its config)."""

    model: keras.Model
    x: np.ndarray
    y: dict[str, np.ndarray]
    loss_weights: dict[str, float]
    optimizer: keras.optimizers.Optimizer
    seed: int
    validation: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
    pairing: str = "fixed"  # one of PAIRINGS
    # Distillation: (N, 2, 10) teachers' probabilities of each pair's digits at `temperature`, the digit
    # targets in place of the labels (which still decide the comparison's target).
    soft_digits: np.ndarray | None = None
    temperature: float = 1.0
    label_smoothing: float = 0.0  # of the digit losses, where they train on labels
    sam_radius: float = 0.0  # sharpness-aware minimisation's (kerascmp.engine.sharpness); 0: plain steps
    mixup: float = 0.0  # mixup's alpha (`mixup_draws`); 0: none

    def __post_init__(self):
        if self.pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}, got {self.pairing!r}")
        if self.soft_digits is not None and self.soft_digits.shape != (len(self.x), 2, 10):
            raise ValueError(f"soft digit targets must be (N, 2, 10), got {self.soft_digits.shape}")
        if self.pairing != "fixed" and (
            self.x.shape[1:] != (2, 14, 14) or not {DIGIT1, DIGIT2} <= set(self.y)
        ):
            raise ValueError(f"pairing {self.pairing!r} needs pairs (N, 2, 14, 14) and both digits' labels")
        if self.mixup and (self.pairing == "fixed" or self.soft_digits is not None):
            raise ValueError(
                "mixup mixes re-formed pairs of labelled digits: it needs a pairing other than fixed"
            )


def output_key(replica: int, output: str) -> str:
    return f"r{replica}_{output}"


def has_soft_target(job: Job, output: str) -> bool:
    """Whether the job's `output` trains on probabilities (mixup's outputs, distillation's digits) rather than
    labels."""
    return job.mixup > 0 or (job.soft_digits is not None and output in (DIGIT1, DIGIT2))


def pack(jobs: list[Job], replicas: list[keras.Model]) -> keras.Model:
    """One functional model: input `x{r}` feeds replica r; outputs `r{r}_{output}`. Jobs with a SAM radius
    pack into a `SharpnessAwareModel`, and must then share it: one step's two passes run every replica."""
    inputs, outputs = {}, {}
    for r, (job, replica) in enumerate(zip(jobs, replicas)):
        inputs[f"x{r}"] = keras.Input(replica.input_shape[1:], name=f"x{r}")
        for name, tensor in replica(inputs[f"x{r}"]).items():
            if name in job.loss_weights:
                outputs[output_key(r, name)] = keras.layers.Identity(
                    name=output_key(r, name), dtype="float32"
                )(tensor)
    radii = {job.sam_radius for job in jobs}
    if radii == {0.0}:
        return keras.Model(inputs, outputs, name="packed")
    if len(radii) > 1:
        raise ValueError("runs packed together must share their SAM radius (sam_radius)")
    return SharpnessAwareModel(inputs, outputs, radius=jobs[0].sam_radius, replicas=replicas, name="packed")


def epoch_orders(seed: int, n: int, epochs: int) -> np.ndarray:
    """(epochs, n) shuffle orders drawn from the run's own seed, independent of any global RNG."""
    rng = seeds.stream(seed, seeds.EPOCH_ORDERS)
    return np.stack([rng.permutation(n) for _ in range(epochs)]).astype(np.int32)


def epoch_digit_pairs(seed: int, n: int, epochs: int, pairing: str) -> np.ndarray:
    """(epochs, n, 2): for each epoch, the batch order of its n pairs as indices into the 2n digits (pair i
    holds digits 2i and 2i + 1), drawn from the run's own seed."""
    if pairing == "repair":
        rng = seeds.stream(seed, seeds.REPAIRING)
        return np.stack([rng.permutation(2 * n).reshape(n, 2) for _ in range(epochs)]).astype(np.int32)
    orders = epoch_orders(seed, n, epochs)
    pairs = np.stack([2 * orders, 2 * orders + 1], axis=-1)
    if pairing == "swap":
        swapped = seeds.stream(seed, seeds.SWAPS).random((epochs, n)) < 0.5
        pairs[swapped] = pairs[swapped][:, ::-1]
    return pairs.astype(np.int32)


def mixup_draws(seed: int, n: int, epochs: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Mixup (Zhang et al., 2018) for a run's epochs, drawn from its own seed: (epochs * n, 2) the digit
    indices of each training pair's partner, a pair formed as the re-paired ones are, and (epochs * n,) its
    weight w ~ Beta(alpha, alpha) folded to >= 1/2, so the pair's own labels lead. The pair trains on
    w * itself + (1 - w) * its partner, images and one-hot targets alike."""
    rng = seeds.stream(seed, seeds.MIXUP)
    partners = np.concatenate([rng.permutation(2 * n).reshape(n, 2) for _ in range(epochs)])
    weights = rng.beta(alpha, alpha, size=epochs * n)
    return partners.astype(np.int32), np.maximum(weights, 1 - weights).astype(np.float32)


def _static_pipeline() -> tf.data.Options:
    """tf.data without its autotuning thread: on this 2-core CPU, destroying an autotuned iterator at the end
    of `fit` stalled one round in two by a fixed ~3 s (benchmarks/README.md); a small fixed prefetch does."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


_STATIC_PIPELINE = _static_pipeline()


def training_dataset(jobs: list[Job], epochs: int, batch_size: int) -> tf.data.Dataset:
    n = len(jobs[0].x)
    orders = np.stack([epoch_orders(job.seed, n, epochs) for job in jobs], axis=-1)  # (epochs, n, R)
    xs = [tf.constant(job.x) for job in jobs]
    ys = [
        {name: tf.constant(values) for name, values in job.y.items() if name in job.loss_weights}
        for job in jobs
    ]
    softs = [  # (2N, 10): digit 2i + j is pair i's digit j
        None if job.soft_digits is None else tf.constant(job.soft_digits.reshape(-1, 10), tf.float32)
        for job in jobs
    ]

    # Jobs that form new pairs index single digits: their orders are (epochs, n, 2) digit indices.
    repairing = [job.pairing != "fixed" for job in jobs]
    for r, job in enumerate(jobs):
        if repairing[r]:
            xs[r] = tf.constant(job.x.reshape(-1, 14, 14))
            ys[r] = tf.constant(np.stack([job.y[DIGIT1], job.y[DIGIT2]], axis=1).reshape(-1))
    digit_orders = [
        epoch_digit_pairs(job.seed, n, epochs, job.pairing) if repairing[r] else None
        for r, job in enumerate(jobs)
    ]
    orders = np.concatenate(
        [orders] + [d.reshape(epochs, n, 2) for d in digit_orders if d is not None], axis=-1
    )  # (epochs, n, R + 2 * repairing jobs)
    draws = [mixup_draws(job.seed, n, epochs, job.mixup) if job.mixup else None for job in jobs]
    if any(d is not None for d in draws):  # a last column: each example's row in the draws
        rows = np.arange(epochs * n, dtype=np.int32).reshape(epochs, n, 1)
        orders = np.concatenate([orders, rows], axis=-1)
    draws = [None if d is None else tuple(tf.constant(a) for a in d) for d in draws]

    def gather(index):
        x, y, column = {}, {}, len(jobs)
        for r, job in enumerate(jobs):
            if repairing[r]:
                digits = index[:, column : column + 2]  # (batch, 2) digit indices
                column += 2
                x[f"x{r}"] = tf.gather(xs[r], digits)
                classes = tf.gather(ys[r], digits)
                targets = _pair_targets(classes)
                names = list(job.loss_weights)
                if draws[r] is not None:
                    x[f"x{r}"], targets = _mixed(
                        job, x[f"x{r}"], targets, xs[r], ys[r], *draws[r], index[:, -1]
                    )
            else:
                x[f"x{r}"] = tf.gather(xs[r], index[:, r])
                targets = {name: tf.gather(v, index[:, r]) for name, v in ys[r].items()}
                names = list(ys[r])
                if softs[r] is not None:
                    digits = 2 * index[:, r : r + 1] + tf.constant([[0, 1]], index.dtype)  # 2i, 2i + 1
            if softs[r] is not None:  # distillation: the teachers' probabilities replace the digit labels
                soft = tf.gather(softs[r], digits)  # (batch, 2, 10)
                targets.update({DIGIT1: soft[:, 0], DIGIT2: soft[:, 1]})
            y.update({output_key(r, name): targets[name] for name in names})
        return x, y

    epochs_ds = tf.data.Dataset.from_tensor_slices(orders)
    batches = epochs_ds.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    return batches.map(gather).prefetch(2).with_options(_STATIC_PIPELINE)


def _pair_targets(classes):
    """(batch, 2) digit labels to every output's label."""
    return {
        DIGIT1: classes[:, 0],
        DIGIT2: classes[:, 1],
        COMPARISON: tf.cast(classes[:, 0] <= classes[:, 1], tf.int32),
    }


def _mixed(job: Job, pairs, targets, digits, classes, partners, weights, rows):
    """A batch of pairs and their labels, mixed with their partners' (`mixup_draws`): float32 images, and
    every output's target as probabilities, the digits' smoothed as the job smooths them."""
    partner = tf.gather(partners, rows)  # (batch, 2) digit indices
    w = tf.gather(weights, rows)[:, None]  # (batch, 1)
    partner_targets = _pair_targets(tf.gather(classes, partner))
    image_w = w[:, :, None, None]
    mixed = image_w * tf.cast(pairs, tf.float32) + (1 - image_w) * tf.cast(
        tf.gather(digits, partner), tf.float32
    )
    soft = {}
    for name, labels in targets.items():
        k = CLASSES[name]
        soft[name] = w * tf.one_hot(labels, k) + (1 - w) * tf.one_hot(partner_targets[name], k)
        if name != COMPARISON and job.label_smoothing:
            soft[name] = (1 - job.label_smoothing) * soft[name] + job.label_smoothing / k
    return mixed, soft


def validation_dataset(jobs: list[Job], batch_size: int):
    x = {f"x{r}": job.validation[0] for r, job in enumerate(jobs)}
    y = {
        output_key(r, name): np.eye(CLASSES[name], dtype="float32")[values]
        if has_soft_target(job, name)
        else values
        for r, job in enumerate(jobs)
        for name, values in job.validation[1].items()
        if name in job.loss_weights
    }  # a soft-target output's labels as one-hot probabilities
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size * 5).with_options(_STATIC_PIPELINE)


class EpochProgress(keras.callbacks.Callback):
    """One progress bar over epochs, showing the mean comparison error of the packed runs; in a log (not a
    terminal) a plain line every fifth of the epochs instead, without carriage returns or colours."""

    def __init__(self, epochs: int, label: str = "", accuracy_keys: tuple[str, ...] = ("acc",)):
        super().__init__()
        self.epochs, self.label, self.accuracy_keys = epochs, label, accuracy_keys
        self.interactive = sys.stdout.isatty()

    def on_train_begin(self, logs=None):
        if self.label:
            print(self.label, flush=True)
        self.bar = keras.utils.Progbar(
            self.epochs, unit_name="epoch", stateful_metrics=["train err %", "val err %"]
        )

    def on_epoch_end(self, epoch, logs=None):
        values = []
        for prefix, name in (("", "train err %"), ("val_", "val err %")):
            accs = [logs[prefix + key] for key in self.accuracy_keys if prefix + key in logs]
            if accs:
                values.append((name, 100 * (1 - float(np.mean(accs)))))
        if self.interactive:
            self.bar.update(epoch + 1, values=values, finalize=epoch + 1 == self.epochs)
        elif (epoch + 1) % max(1, self.epochs // 5) == 0 or epoch + 1 == self.epochs:
            shown = "  ".join(f"{name} {value:.1f}" for name, value in values)
            print(f"  epoch {epoch + 1}/{self.epochs}  {shown}", flush=True)


def monitored_output(job: Job) -> str:
    """The output the progress bar shows: the comparison, or the digit in a digit-only stage."""
    return COMPARISON if COMPARISON in job.loss_weights else DIGIT


def keras_key(r: int, output: str, kind: str, single_output: bool) -> str:
    """Where Keras logs replica r's `kind` ("loss", "acc") of an output; with one output it drops the name."""
    return kind if single_output else f"{output_key(r, output)}_{kind}"
