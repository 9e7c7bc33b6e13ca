"""Runs: a frozen `RunSpec` goes in, a trained and scored `RunResult` comes out.

`train_runs` trains any number of runs of one variant together on the packed fast path
(kerascmp.engine.packing, kerascmp.engine.fitting); one run is a pack of one, so every caller shares the
same code and numbers. Pass the same `fitting.Trainer` to successive calls to reuse its compiled training
steps. Staged variants train in two stages here; ensembles train their members as packed runs; a distilled
variant trains its teachers, then its net on their digit probabilities.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import keras
import numpy as np
from scipy.special import softmax

from kerascmp import seeds
from kerascmp.data import PairSet, digits_of
from kerascmp.engine.build import build_model, precision_policy
from kerascmp.engine.compile import loss_weights_for, optimizer_for
from kerascmp.engine.fitting import Trainer
from kerascmp.engine.packing import Job
from kerascmp.engine.runtime import configure_runtime
from kerascmp.engine.scoring import logits_of, score, targets_of
from kerascmp.engine.specs import RunResult, RunSpec
from kerascmp.models import comparator_of, digit_classifier, digit_nets, ensemble_model
from kerascmp.names import COMPARISON, DIGIT, DIGIT1, DIGIT2
from kerascmp.variants import Variant, get_variant


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


def _job(variant: Variant, spec: RunSpec, *, model, x, y, weights, monitor=None, **distilled) -> Job:
    steps = spec.hparams.epochs * math.ceil(len(x) / spec.hparams.batch_size)
    return Job(
        model=model,
        x=x,
        y=y,
        loss_weights=weights,
        seed=spec.seed,
        validation=monitor,
        optimizer=optimizer_for(variant, spec.hparams.learning_rate, steps),
        pairing=variant.pairing,  # "fixed" for staged variants, whose stages train on digits or codes
        label_smoothing=variant.label_smoothing,
        sam_radius=variant.sam_radius,
        mixup=variant.mixup,
        **distilled,
    )


def _pair_job(variant: Variant, spec: RunSpec, model: keras.Model, *, monitored: bool = True, **distilled):
    """A joint variant's run: its training pairs, every output's label, the study's loss weights."""
    return _job(
        variant,
        spec,
        model=model,
        x=spec.train.pairs,
        y=targets_of(spec.train),
        weights=loss_weights_for(variant, spec.hparams.c_aux),
        monitor=(spec.monitor.pairs, targets_of(spec.monitor)) if spec.monitor and monitored else None,
        **distilled,
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
    configure_runtime()
    trainer = trainer or Trainer()
    variant = get_variant(specs[0].variant)
    hp = specs[0].hparams
    start, start_cpu = time.perf_counter(), time.process_time()
    # an ensemble trains its nets (members, then joined nets) as independent runs, packed together
    net_variants = variant.net_variants()
    k = len(net_variants)
    member_specs = [replace(spec, seed=seed) for spec in specs for seed in variant.model_seeds(spec.seed)]
    given = {i * k: model for i, model in enumerate(models or [])}  # a caller's model is member 0
    members = [
        given[i] if i in given else build_model(net_variants[i % k].name, seed=s.seed, precision=hp.precision)
        for i, s in enumerate(member_specs)
    ]
    with precision_policy(hp.precision):
        if variant.staged:
            histories = _train_in_stages(variant, specs, members, trainer, verbose, label, validation_freq)
        else:
            distilled = [{}] * len(members)
            if variant.distillation:
                distilled = _teach(variant, specs, trainer, verbose, label)
            jobs = [
                _pair_job(net_variants[i % k], spec, model, **targets)
                for i, (spec, model, targets) in enumerate(zip(member_specs, members, distilled))
            ]
            histories = trainer.fit(
                jobs,
                epochs=hp.epochs,
                batch_size=hp.batch_size,
                validation_freq=validation_freq,
                verbose=verbose,
                label=label,
            )
        if k > 1 or variant.test_time_views:
            models = [
                ensemble_model(members[i : i + k], variant.test_time_shifts, variant.test_time_rotations)
                for i in range(0, len(members), k)
            ]
            histories = [mean_curves(histories[i : i + k]) for i in range(0, len(histories), k)]
        else:
            models = members
    wall_s = (time.perf_counter() - start) / len(specs)
    cpu_s = (time.process_time() - start_cpu) / len(specs)  # every thread of the process: what training costs
    results = []
    for spec, model, history in zip(specs, models, histories):
        errors, diverged = score(model, spec)
        results.append(RunResult(spec, model, errors, history, wall_s, cpu_s=cpu_s, diverged=diverged))
    return results


def _teach(variant: Variant, specs: list[RunSpec], trainer: Trainer, verbose: bool, label: str) -> list[dict]:
    """Distillation's first part: each run's teachers, the members an ensemble of as many would train (the
    same seeds), trained packed; returns each run's soft digit targets, their averaged probabilities at the
    temperature on its training digits (inference mode: no dropout, no augmentation)."""
    teachers, temperature = variant.distillation.teachers, variant.distillation.temperature
    teacher_specs = [
        replace(spec, seed=seed) for spec in specs for seed in seeds.member_seeds(spec.seed, teachers)
    ]
    models = [build_model(s.variant, seed=s.seed, precision=s.hparams.precision) for s in teacher_specs]
    trainer.fit(
        [_pair_job(variant, spec, model, monitored=False) for spec, model in zip(teacher_specs, models)],
        epochs=specs[0].hparams.epochs,
        batch_size=specs[0].hparams.batch_size,
        verbose=verbose,
        label=f"{label} teachers ({teachers} per run)".strip(),
    )
    targets = []
    for i, spec in enumerate(specs):
        digits, _ = digits_of(spec.train)
        logits = [
            np.asarray(digit_nets(model)[0].predict(digits, verbose=0), "float32")
            for model in models[i * teachers : (i + 1) * teachers]
        ]
        soft = np.mean([softmax(z / temperature, axis=-1) for z in logits], axis=0)
        targets.append({"soft_digits": soft.reshape(-1, 2, 10), "temperature": temperature})
    return targets


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
        logits = logits_of(model, pairs.pairs)
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
