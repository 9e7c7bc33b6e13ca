"""Compiled training steps that outlive a call, owned by a `Trainer`, and reused only when exactly right.

Tracing a training step costs ~1.5 s, a sixth of a run, so a `Trainer` keeps the packed models
(`kerascmp.engine.packing`) it compiled and reuses one whenever a new pack would build the same graph. It
decides that itself, from the models' configs, the optimiser's config, the loss weights, the data shapes
and the precision; on reuse it restores every optimiser variable (step count, momentum, moments, the
learning rate) to its value before the first training, and copies in every variable of the job's model, its
random layers' seed states included, so a reused graph trains exactly as a fresh one, whatever ran in it
before (tests/test_trainer.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import keras
import numpy as np

from kerascmp.engine.compile import SmoothedSparseCrossentropy, SoftTargetCrossentropy, optimizer_config
from kerascmp.engine.packing import (
    EpochProgress,
    Job,
    has_soft_target,
    keras_key,
    monitored_output,
    output_key,
    pack,
    steps_per_execution,
    training_dataset,
    validation_dataset,
)
from kerascmp.names import DIGIT1, DIGIT2, curve_key, loss_key


def shared_optimizer(jobs: list[Job]) -> tuple[keras.optimizers.Optimizer, list[float]]:
    """One optimiser for the pack, and the factor on each job's loss that gives it its own learning rate.

    Equal optimisers pack as they are. Plain SGD (momentum allowed, no weight decay) updates linearly in the
    gradient, so a job's learning rate folds exactly into its loss weight; any other optimiser (Adam is
    invariant to the loss's scale) must be the same for every job.
    """
    configs = [optimizer_config(job.optimizer) for job in jobs]
    if all(config == configs[0] for config in configs):
        return keras.optimizers.deserialize(configs[0]), [1.0] * len(jobs)
    rates = [config["config"]["learning_rate"] for config in configs]
    others = [{**config, "config": {**config["config"], "learning_rate": None}} for config in configs]
    foldable = (
        all(other == others[0] for other in others)
        and configs[0]["class_name"] == "SGD"
        and not configs[0]["config"].get("weight_decay")
        and all(isinstance(rate, float) for rate in rates)
    )
    if not foldable:
        raise ValueError(
            "runs packed together must share their optimiser; only plain SGD's learning rate may differ"
        )
    base = max(rates)
    return keras.optimizers.deserialize(
        {**configs[0], "config": {**configs[0]["config"], "learning_rate": base}}
    ), [rate / base for rate in rates]


def _canonical(config):
    """A model's config with every layer name replaced by its order of first appearance: two builds of one
    architecture differ only in Keras's auto-generated names ("dense_12"), which shape nothing."""
    names: dict[str, str] = {}

    def collect(node):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str):
                names.setdefault(node["name"], f"#{len(names)}")
            for value in node.values():
                collect(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                collect(value)

    def rename(node):
        if isinstance(node, dict):
            return {key: rename(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return [rename(value) for value in node]
        return names.get(node, node) if isinstance(node, str) else node

    collect(config)
    return rename(config)


@dataclass
class _Compiled:
    """A compiled packed model, its replicas, and its optimiser's variables as they were before training."""

    model: keras.Model
    replicas: list[keras.Model]
    initial_optimizer_state: list[np.ndarray]


class Trainer:
    """Trains packs of jobs, reusing a compiled packed model whenever a pack builds the same graph.

    The packed model holds clones of the jobs' models: a job's variables (weights and seed states) are
    copied in before `fit` and copied back after it, so a job's model never aliases another's.
    `reuse=False` compiles afresh every time (the reference the reuse tests compare against).
    """

    def __init__(self, *, reuse: bool = True, max_cached: int = 4):
        self.reuse = reuse
        self.max_cached = max_cached
        self.compilations = 0
        self._cache: dict[str, _Compiled] = {}

    def fit(
        self,
        jobs: list[Job],
        *,
        epochs: int,
        batch_size: int,
        validation_freq: int = 1,
        verbose: bool = True,
        label: str = "",
    ) -> list[dict[str, list[float]]]:
        """Train all jobs together (their models end trained); returns each job's per-epoch errors (%)."""
        n = len(jobs[0].x)
        if any(len(job.x) != n for job in jobs):
            raise ValueError("packed jobs must have the same number of training examples")
        steps = math.ceil(n / batch_size)
        has_validation = all(job.validation is not None for job in jobs)
        compiled = self._compiled(jobs, steps, has_validation)
        single_output = len(compiled.model.outputs) == 1
        for replica, job in zip(compiled.replicas, jobs):
            _copy_state(job.model, replica)
        for variable, value in zip(compiled.model.optimizer.variables, compiled.initial_optimizer_state):
            variable.assign(value)
        history = compiled.model.fit(
            training_dataset(jobs, epochs, batch_size),
            epochs=epochs,
            steps_per_epoch=steps,
            validation_data=validation_dataset(jobs, batch_size) if has_validation else None,
            validation_freq=validation_freq,
            callbacks=[
                EpochProgress(
                    epochs,
                    label,
                    tuple(
                        keras_key(r, monitored_output(job), "acc", single_output)
                        for r, job in enumerate(jobs)
                    ),
                )
            ]
            if verbose
            else [],
            shuffle=False,  # the dataset shuffles, per replica
            verbose=0,
        ).history
        for replica, job in zip(compiled.replicas, jobs):
            _copy_state(replica, job.model)
        return [_history_of(r, job, history, single_output) for r, job in enumerate(jobs)]

    def _compiled(self, jobs: list[Job], steps: int, has_validation: bool) -> _Compiled:
        optimizer, scales = shared_optimizer(jobs)
        key = json.dumps(
            {
                "models": [_canonical(job.model.get_config()) for job in jobs],
                "weights": [[list(w.shape) for w in job.model.weights] for job in jobs],
                "optimizer": optimizer_config(optimizer),
                "loss_weights": [
                    sorted((name, w * s) for name, w in job.loss_weights.items())
                    for job, s in zip(jobs, scales)
                ],
                "data": [[list(job.x.shape), str(job.x.dtype), sorted(job.y)] for job in jobs],
                "soft_targets": [
                    None if job.soft_digits is None else [list(job.soft_digits.shape), job.temperature]
                    for job in jobs
                ],
                "label_smoothing": [job.label_smoothing for job in jobs],
                "sam_radius": [job.sam_radius for job in jobs],
                "mixup": [job.mixup for job in jobs],
                "steps": steps,
                "validation": has_validation,
                "policy": keras.config.dtype_policy().name,
            },
            sort_keys=True,
            default=repr,
        )
        if self.reuse and key in self._cache:
            return self._cache[key]
        replicas = [keras.models.clone_model(job.model) for job in jobs]
        for r, replica in enumerate(replicas):
            replica.name = f"replica_{r}"  # unique in the packed model, whatever the jobs' models are called
        model = _compile(jobs, replicas, optimizer, scales, steps)
        model.optimizer.build(model.trainable_variables)
        compiled = _Compiled(model, replicas, [v.numpy() for v in model.optimizer.variables])
        self.compilations += 1
        if self.reuse:
            if len(self._cache) >= self.max_cached:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = compiled
        return compiled


def _copy_state(source: keras.Model, target: keras.Model) -> None:
    """Copy every variable, the random layers' seed states too: `get_weights` leaves those out, and a reused
    replica would otherwise draw its dropout and augmentation from where the previous run left off."""
    for to, value in zip(target.variables, source.variables, strict=True):
        to.assign(value)


def _compile(
    jobs: list[Job], replicas: list[keras.Model], optimizer, scales: list[float], steps: int
) -> keras.Model:
    """The packed model, compiled: one optimiser on the weighted sum of every replica's losses."""
    model = pack(jobs, replicas)
    model.compile(
        optimizer=optimizer,
        loss={
            output_key(r, name): output_loss(job, name)
            for r, job in enumerate(jobs)
            for name in job.loss_weights
        },
        loss_weights={
            output_key(r, name): weight * scale
            for r, (job, scale) in enumerate(zip(jobs, scales))
            for name, weight in job.loss_weights.items()
        },
        metrics={
            output_key(r, name): [
                keras.metrics.CategoricalAccuracy(name="acc")
                if has_soft_target(job, name)
                else keras.metrics.SparseCategoricalAccuracy(name="acc")
            ]
            for r, job in enumerate(jobs)
            for name in job.loss_weights
        },
        steps_per_execution=steps_per_execution(steps),
    )
    return model


def output_loss(job: Job, output: str) -> keras.losses.Loss:
    """The loss of the job's `output`: the cross-entropy to probabilities where it trains on them (mixup's
    smoothing is in its targets), label smoothing where the job has it on its digits, else the cross-entropy
    to the labels."""
    if has_soft_target(job, output):
        return SoftTargetCrossentropy(job.temperature)
    if job.label_smoothing and output in (DIGIT1, DIGIT2):
        return SmoothedSparseCrossentropy(job.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _history_of(r: int, job: Job, history: dict, single_output: bool) -> dict[str, list[float]]:
    """Replica r's per-epoch curves: error rate (%) and unweighted loss of every output it trains, on the
    training pairs during each epoch and, where monitored, on the held-out pairs."""
    curves = {}
    for monitored in (False, True):
        prefix = "val_" if monitored else ""
        for name in job.loss_weights:
            accuracy = history.get(prefix + keras_key(r, name, "acc", single_output))
            if accuracy is not None:
                curves[curve_key(name, monitored)] = [100 * (1 - a) for a in accuracy]
            loss = history.get(prefix + keras_key(r, name, "loss", single_output))
            if loss is not None:
                curves[loss_key(name, monitored)] = [float(v) for v in loss]
    return curves
