"""Training and evaluation of runs: a frozen `RunSpec` goes in, a `RunResult` comes out.

`train_runs` trains any number of runs of one variant together on the packed fast path
(`kerascmp.packing`); one run is a pack of one, so every caller shares the same code and numbers.
Pass the same `packing.Trainer` to successive calls to reuse its compiled training steps.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import keras
import numpy as np
import tensorflow as tf

from kerascmp import seeds
from kerascmp.data import PairSet, digits_of
from kerascmp.evaluation import predict, score, targets_of
from kerascmp.models import comparator_of, digit_classifier, digit_nets, ensemble_model
from kerascmp.outputs import COMPARISON, DIGIT, DIGIT1, DIGIT2
from kerascmp.packing import Job
from kerascmp.trainer import Trainer
from kerascmp.variants import Hyperparameters, Variant, VariantError, get_variant


@dataclass(frozen=True)
class RunSpec:
    """One training run: the variant, its seed and hyperparameters, the pairs it trains and is scored on."""

    variant: str
    seed: int
    hparams: Hyperparameters
    train: PairSet
    evaluate_on: Mapping[str, PairSet] = field(default_factory=dict)  # split -> pairs; TRAIN is always scored
    monitor: PairSet | None = None  # pairs for a per-epoch held-out curve


@dataclass(frozen=True)
class RunResult:
    """What a run produced: its trained model, error rates (%) keyed by `error_key`, per-epoch curves.

    A run whose weights or outputs became NaN or infinite has `diverged`; its error rates are then None
    (argmax over NaN picks class 0, which would pass for a normal-looking number).
    """

    spec: RunSpec
    model: keras.Model
    errors: dict[str, float | None]
    history: dict[str, list[float]]
    wall_s: float
    diverged: bool = False


def loss_weights(c_aux: float) -> dict[str, float]:
    """The study's loss, L = c*L_digit1 + c*L_digit2 + (1 - 2c)*L_comparison, as Keras loss_weights."""
    return {COMPARISON: 1.0 - 2.0 * c_aux, DIGIT1: c_aux, DIGIT2: c_aux}


def loss_weights_for(variant: Variant, c_aux: float) -> dict[str, float]:
    """The study's loss for joint variants; the comparison alone where there are no auxiliary terms."""
    return loss_weights(c_aux) if variant.uses_c_aux else {COMPARISON: 1.0}


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


def build_model(variant: str, *, seed: int, precision: str) -> keras.Model:
    """A variant's model, initialised from `seed` alone, in `precision`, checked against its declaration;
    a plugin's build() that fails or returns another model raises VariantError, which says what is wrong."""
    definition = get_variant(variant)
    with precision_policy(precision):
        make_deterministic(seed)
        try:
            model = definition.build()
        except Exception as err:  # the user's code: whatever it raises, reported in one line
            raise VariantError(f"variant {variant}: build() raised {type(err).__name__}: {err}") from err
    check_model(definition, model)
    return model


CLASSES = {COMPARISON: 2, DIGIT1: 10, DIGIT2: 10}  # first > second / first <= second; the ten digits


def check_model(variant: Variant, model) -> None:
    """The model a variant builds takes raw pairs (batch, 2, 14, 14) and returns a dict of logits keyed by
    exactly its declared outputs, with 2 comparison and 10 digit classes."""
    where = f"variant {variant.name}: build()"
    if not isinstance(model, keras.Model):
        raise VariantError(f"{where} returned a {type(model).__name__}, not a keras.Model")
    if len(model.inputs) != 1 or tuple(model.inputs[0].shape[1:]) != (2, 14, 14):
        shapes = ", ".join(str(tuple(i.shape)) for i in model.inputs)
        raise VariantError(f"{where} returned a model taking {shapes}; it must take pairs (None, 2, 14, 14)")
    if not isinstance(model.output, dict):
        raise VariantError(
            f"{where} returned a model whose output is a {type(model.output).__name__}; it must be a dict "
            f"of logits keyed by {', '.join(variant.outputs)} (kerascmp.outputs)"
        )
    if set(model.output) != set(variant.outputs):
        raise VariantError(
            f"{where} returned outputs {', '.join(sorted(model.output))}; the variant declares "
            f"{', '.join(variant.outputs)} (set Variant(outputs=...) or rename the model's outputs)"
        )
    for name, tensor in model.output.items():
        if tuple(tensor.shape[1:]) != (CLASSES[name],):
            raise VariantError(
                f"{where}: output {name!r} has shape {tuple(tensor.shape)}; it must be (None, "
                f"{CLASSES[name]}), logits of {CLASSES[name]} classes"
            )


def compile_model(model: keras.Model, *, learning_rate: float, weights: dict[str, float]) -> keras.Model:
    """Plain Keras compile of one pair model: SGD, cross-entropy per output, the given loss weights."""
    model.compile(
        keras.optimizers.SGD(learning_rate),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in model.output},
        loss_weights={name: weights.get(name, 0.0) for name in model.output},
    )
    return model


def _validate_pack(specs: list[RunSpec]) -> None:
    if not specs:
        raise ValueError("no runs to train")

    def protocol(spec: RunSpec) -> tuple:
        return (
            spec.variant,
            spec.hparams.epochs,
            spec.hparams.batch_size,
            spec.hparams.precision,
            len(spec.train),
        )

    for spec in specs:
        spec.hparams.validate()
        if protocol(spec) != protocol(specs[0]):
            raise ValueError(
                "runs trained together must share variant, epochs, batch size, precision and size"
            )


def _job(variant: Variant, spec: RunSpec, *, model, x, y, weights, monitor=None) -> Job:
    steps = spec.hparams.epochs * math.ceil(len(x) / spec.hparams.batch_size)
    return Job(
        model=model,
        x=x,
        y=y,
        loss_weights=weights,
        seed=spec.seed,
        validation=monitor,
        optimizer=variant.optimizer(spec.hparams.learning_rate, steps),
        pairing=variant.pairing,  # "fixed" for staged variants, whose stages train on digits or codes
    )


def train_runs(
    specs: list[RunSpec],
    *,
    trainer: Trainer | None = None,
    models: list[keras.Model] | None = None,
    verbose: bool = True,
    validation_freq: int = 1,
    label: str = "",
) -> list[RunResult]:
    """Train `specs` (same variant and protocol; seeds, learning rates and c_aux may differ) and score them.

    `models` are the runs' models when the caller built them (KerasTuner's `build(hp)`); by default each
    is built from its run's seed. `trainer` reuses compiled steps across calls; by default a fresh one.
    """
    _validate_pack(specs)
    trainer = trainer or Trainer()
    variant = get_variant(specs[0].variant)
    hp = specs[0].hparams
    start = time.perf_counter()
    k = variant.members  # an ensemble trains its members as independent runs, packed together
    member_specs = [
        replace(spec, seed=seeds.member_seed(spec.seed, m, k)) for spec in specs for m in range(k)
    ]
    given = {i * k: model for i, model in enumerate(models or [])}  # a caller's model is member 0
    members = [
        given[i] if i in given else build_model(spec.variant, seed=spec.seed, precision=hp.precision)
        for i, spec in enumerate(member_specs)
    ]
    with precision_policy(hp.precision):
        if variant.staged:
            histories = _train_in_stages(variant, specs, members, trainer, verbose, label, validation_freq)
        else:
            jobs = [
                _job(
                    variant,
                    spec,
                    model=model,
                    x=spec.train.pairs,
                    y=targets_of(spec.train),
                    weights=loss_weights_for(variant, spec.hparams.c_aux),
                    monitor=(spec.monitor.pairs, targets_of(spec.monitor)) if spec.monitor else None,
                )
                for spec, model in zip(member_specs, members)
            ]
            histories = trainer.fit(
                jobs,
                epochs=hp.epochs,
                batch_size=hp.batch_size,
                validation_freq=validation_freq,
                verbose=verbose,
                label=label,
            )
        if k > 1:
            models = [ensemble_model(members[i : i + k]) for i in range(0, len(members), k)]
            histories = [mean_curves(histories[i : i + k]) for i in range(0, len(histories), k)]
        else:
            models = members
    wall_s = (time.perf_counter() - start) / len(specs)
    results = []
    for spec, model, history in zip(specs, models, histories):
        errors, diverged = score(model, spec)
        results.append(RunResult(spec, model, errors, history, wall_s, diverged=diverged))
    return results


def mean_curves(histories: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """An ensemble's learning curves: its members' mean, epoch by epoch."""
    return {key: np.mean([h[key] for h in histories], axis=0).tolist() for key in histories[0]}


def _train_in_stages(
    variant: Variant,
    specs: list[RunSpec],
    models: list[keras.Model],
    trainer: Trainer,
    verbose: bool,
    label: str,
    validation_freq: int,
) -> list[dict[str, list[float]]]:
    """Stage 1: the digit net on the 2N training digits. Stage 2: the comparator on the frozen digit net.

    The frozen net is deterministic, so stage 2 trains on its cached logits: the same updates as feeding
    pairs through it every step, for a fraction of the cost.
    """
    hp = specs[0].hparams
    stage1 = []
    for spec, model in zip(specs, models):
        digits, classes = digits_of(spec.train)
        classifier = digit_classifier(
            digit_nets(model)[0], two_streams=hp.batch_size % 2 == 0, name=f"{model.name}_digits"
        )  # 2N digits: every batch even
        stage1.append(
            _job(variant, spec, model=classifier, x=digits, y={DIGIT: classes}, weights={DIGIT: 1.0})
        )
    digit_curves = trainer.fit(
        stage1,
        epochs=hp.epochs,
        batch_size=hp.batch_size,
        verbose=verbose,
        label=f"{label} stage 1/2: digit net".strip(),
    )

    def digit_codes(model: keras.Model, pairs: PairSet) -> np.ndarray:
        logits = predict(model, pairs.pairs)
        return np.stack([logits[DIGIT1], logits[DIGIT2]], axis=1)

    stage2 = []
    for spec, model in zip(specs, models):
        digit_nets(model)[0].trainable = False
        monitor = (
            (digit_codes(model, spec.monitor), {COMPARISON: spec.monitor.target}) if spec.monitor else None
        )
        stage2.append(
            _job(
                variant,
                spec,
                model=comparator_of(model),
                x=digit_codes(model, spec.train),
                y={COMPARISON: spec.train.target},
                weights={COMPARISON: 1.0},
                monitor=monitor,
            )
        )
    comparison_curves = trainer.fit(
        stage2,
        epochs=hp.epochs,
        batch_size=hp.batch_size,
        validation_freq=validation_freq,
        verbose=verbose,
        label=f"{label} stage 2/2: comparator".strip(),
    )
    return [{**first, **second} for first, second in zip(digit_curves, comparison_curves)]


def summarize(values: list[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1) of a metric over rounds; std is None for one round."""
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    mean = float(np.mean(present))
    return mean, float(np.std(present, ddof=1)) if len(present) > 1 else None
