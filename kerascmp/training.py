"""Training and evaluation of study runs: the loss, the two-stage separate training, error rates.

`train_runs` trains any number of runs of one variant together on the packed fast path
(`kerascmp.packing`); one run is a pack of one, so every caller shares the same code and numbers.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kerascmp import defaults
from kerascmp.data import PairSet, digits_of
from kerascmp.models import build_model, comparator_of, digit_classifier, digit_nets, get_variant
from kerascmp.packing import Job, fit_packed

PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class Hyperparameters:
    learning_rate: float
    c_aux: float
    epochs: int = defaults.EPOCHS
    batch_size: int = defaults.BATCH_SIZE
    paper_relu: bool = False
    precision: str = "float32"

    @classmethod
    def for_variant(cls, variant: str, **overrides) -> "Hyperparameters":
        """The variant's defaults (kerascmp.defaults), with `overrides` that are not None."""
        values = dict(learning_rate=defaults.default_learning_rate(variant), c_aux=defaults.default_c_aux(variant))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def validate(self) -> None:
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.c_aux <= 0.5:
            raise ValueError(f"c_aux must be in [0, 0.5], got {self.c_aux}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch size must be >= 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


def loss_weights(c_aux: float) -> dict[str, float]:
    """The study's loss, L = c*L_digit1 + c*L_digit2 + (1 - 2c)*L_comparison, as Keras loss_weights."""
    return {"comparison": 1.0 - 2.0 * c_aux, "digit1": c_aux, "digit2": c_aux}


def make_deterministic(seed: int) -> None:
    """Same seed, same numbers: seeds Python, NumPy and TF, and asks TF for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def precision_policy(precision: str):
    """Build and train under `mixed_bfloat16` when asked; layers keep the policy they were built with."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@dataclass
class Run:
    """One training run: what to train, on which pairs, and (after `train_runs`) its model and numbers."""

    variant: str
    seed: int
    hparams: Hyperparameters
    train: PairSet
    evaluate_on: dict[str, PairSet] = field(default_factory=dict)  # name -> pairs; "train" is added
    monitor: PairSet | None = None  # per-epoch validation curve on these pairs
    model: keras.Model | None = None
    errors: dict[str, float | None] = field(default_factory=dict)  # "{set}_{output}" -> error %
    history: dict[str, list[float]] = field(default_factory=dict)
    wall_s: float = 0.0


def targets_of(pairs: PairSet) -> dict[str, np.ndarray]:
    """The true label of every model output."""
    return {"comparison": pairs.target, "digit1": pairs.classes[:, 0], "digit2": pairs.classes[:, 1]}


def compile_model(model: keras.Model, learning_rate: float, weights: dict[str, float]) -> keras.Model:
    """Plain Keras compile of one variant model: SGD, cross-entropy per output, the study's loss weights."""
    model.compile(keras.optimizers.SGD(learning_rate),
                  loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in model.output},
                  loss_weights={name: weights.get(name, 0.0) for name in model.output})
    return model


def error_rates(outputs: dict[str, np.ndarray], pairs: PairSet) -> dict[str, float]:
    """Error rates in % of a model's outputs on `pairs`."""
    truth = targets_of(pairs)
    return {name: round(100.0 * float(np.mean(np.argmax(logits, axis=-1) != truth[name])), 6)
            for name, logits in outputs.items()}


def predict(model: keras.Model, pairs: np.ndarray, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """Eager forward pass in chunks (no tracing: cheaper than `predict` for a few thousand pairs)."""
    chunks = [model(tf.constant(pairs[i:i + batch_size]), training=False) for i in range(0, len(pairs), batch_size)]
    return {name: np.concatenate([np.asarray(c[name], dtype=np.float32) for c in chunks]) for name in chunks[0]}


def evaluate(run: Run) -> dict[str, float | None]:
    """Errors on every evaluation set, keyed "{set}_{output}"; None where the variant has no such output."""
    errors = {}
    for set_name, pairs in {"train": run.train, **run.evaluate_on}.items():
        rates = error_rates(predict(run.model, pairs.pairs), pairs)
        for output in ("digit1", "digit2", "comparison"):
            errors[f"{set_name}_{output}"] = rates.get(output)
    return errors


def _validate_pack(runs: list[Run]) -> None:
    if not runs:
        raise ValueError("no runs to train")
    first = runs[0]
    for run in runs:
        run.hparams.validate()
        same = (run.variant, run.hparams.epochs, run.hparams.batch_size, run.hparams.precision, len(run.train))
        if same != (first.variant, first.hparams.epochs, first.hparams.batch_size, first.hparams.precision,
                    len(first.train)):
            raise ValueError("runs trained together must share variant, epochs, batch size, precision and size")


def train_runs(runs: list[Run], verbose: bool = True, validation_freq: int = 1, label: str = "") -> list[Run]:
    """Train `runs` (same variant and protocol; seeds, lr and c_aux may differ) and evaluate them."""
    _validate_pack(runs)
    spec = get_variant(runs[0].variant)
    hp = runs[0].hparams
    start = time.perf_counter()
    with precision_policy(hp.precision):
        for i, run in enumerate(runs):
            if run.model is None:  # a caller may hand in a model it built (KerasTuner's build(hp))
                make_deterministic(run.seed)  # each run's initialisation depends on its own seed only
                run.model = build_model(run.variant, run.hparams.paper_relu, name=f"{run.variant}_{i}")
        if spec.separate_training:
            _train_separately(runs, verbose, label, validation_freq)
        else:
            jobs = [Job(model=run.model, x=run.train.pairs, y=targets_of(run.train),
                        loss_weights=_loss_weights_for(run), learning_rate=run.hparams.learning_rate,
                        seed=run.seed,
                        validation=(run.monitor.pairs, targets_of(run.monitor)) if run.monitor else None)
                    for run in runs]
            fit_packed(jobs, hp.epochs, hp.batch_size, validation_freq, verbose, label,
                       cache_key=_configuration(runs, "joint", [job.loss_weights for job in jobs]))
            for run, job in zip(runs, jobs):
                run.history = job.history
    wall_s = (time.perf_counter() - start) / len(runs)
    for run in runs:
        run.wall_s = wall_s
        run.errors = evaluate(run)
    return runs


def _configuration(runs: list[Run], stage: str, weights: list[dict] | None = None) -> tuple:
    """What shapes a stage's training graph, as a cache key for `fit_packed`."""
    return (stage, runs[0].variant, runs[0].hparams.precision, runs[0].hparams.batch_size,
            tuple((run.hparams.paper_relu, run.hparams.learning_rate) for run in runs),
            tuple(tuple(sorted(w.items())) for w in weights or []))


def _loss_weights_for(run: Run) -> dict[str, float]:
    if not get_variant(run.variant).uses_c_aux:
        return {"comparison": 1.0}
    return loss_weights(run.hparams.c_aux)


def _train_separately(runs: list[Run], verbose: bool, label: str, validation_freq: int) -> None:
    """Stage 1: the digit net on the 2N training digits. Stage 2: the comparator on the frozen digit net.

    The frozen net is deterministic, so stage 2 trains on its cached logits: the same updates as feeding
    pairs through it every step, for a fraction of the cost.
    """
    hp = runs[0].hparams
    stage1 = []
    for run in runs:
        digits, classes = digits_of(run.train)
        classifier = digit_classifier(digit_nets(run.model)[0], two_streams=hp.batch_size % 2 == 0,
                                      name=f"{run.model.name}_digits")  # 2N digits: every batch even
        stage1.append(Job(model=classifier, x=digits, y={"digit": classes}, loss_weights={"digit": 1.0},
                          learning_rate=run.hparams.learning_rate, seed=run.seed))
    fit_packed(stage1, hp.epochs, hp.batch_size, verbose=verbose, label=f"{label} stage 1/2: digit net".strip(),
               cache_key=_configuration(runs, "digits"))

    def digit_codes(run: Run, pairs: PairSet) -> np.ndarray:
        logits = predict(run.model, pairs.pairs)
        return np.stack([logits["digit1"], logits["digit2"]], axis=1)

    stage2 = []
    for run in runs:
        digit_nets(run.model)[0].trainable = False
        monitor = (digit_codes(run, run.monitor), {"comparison": run.monitor.target}) if run.monitor else None
        stage2.append(Job(model=comparator_of(run.model), x=digit_codes(run, run.train),
                          y={"comparison": run.train.target}, loss_weights={"comparison": 1.0},
                          learning_rate=run.hparams.learning_rate, seed=run.seed, validation=monitor))
    fit_packed(stage2, hp.epochs, hp.batch_size, validation_freq, verbose,
               label=f"{label} stage 2/2: comparator".strip(), cache_key=_configuration(runs, "comparator"))
    for run, first, second in zip(runs, stage1, stage2):
        run.history = {"digit_error": first.history.get("digit_error", []), **second.history}


def summarize(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1) of a metric over rounds; std is None for one round."""
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    mean = float(np.mean(present))
    return mean, float(np.std(present, ddof=1)) if len(present) > 1 else None
