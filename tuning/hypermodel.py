"""The study's search as a KerasTuner HyperModel: learning rate x c_aux, `rounds` repetitions per point."""
from __future__ import annotations

import dataclasses

import keras_tuner
import numpy as np

from kerascmp import defaults
from kerascmp.data import generate_training_pairs, train_validation_split
from kerascmp.models import build_model, get_variant
from kerascmp.training import (Hyperparameters, Run, compile_model, loss_weights, make_deterministic,
                               precision_policy, summarize, train_runs)

OBJECTIVE = "val_comparison_error"
OUTPUTS = ("comparison", "digit1", "digit2")


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    variant: str
    learning_rates: tuple[float, ...]
    c_aux_values: tuple[float, ...]
    rounds: int
    epochs: int
    pairs: int
    seed: int = 0
    precision: str = defaults.PRECISION
    data_dir: str | None = None
    download: bool = False

    @property
    def tunes_c_aux(self) -> bool:
        return get_variant(self.variant).uses_c_aux

    def grid(self) -> dict[str, list[float]]:
        grid = {"learning_rate": list(self.learning_rates)}
        if self.tunes_c_aux:
            grid["c_aux"] = list(self.c_aux_values)
        return grid


class ComparisonHyperModel(keras_tuner.HyperModel):
    """`build(hp)` makes and compiles the variant's model; `fit` trains it and rounds - 1 more repetitions.

    Round r draws its training pairs and its train/validation split from seed + r, the same at every grid
    point, so points are compared on equal data. Only the validation split is evaluated: the test pairs
    are never drawn.
    """

    def __init__(self, settings: SearchSettings):
        super().__init__(name=f"kerascmp_{settings.variant}")
        self.settings = settings

    def hyperparameters(self, hp: keras_tuner.HyperParameters) -> Hyperparameters:
        s = self.settings
        learning_rate = hp.Choice("learning_rate", s.learning_rates)
        c_aux = hp.Choice("c_aux", s.c_aux_values) if s.tunes_c_aux else defaults.default_c_aux(s.variant)
        return Hyperparameters(learning_rate, c_aux, epochs=s.epochs, precision=s.precision)

    def build(self, hp):
        hparams = self.hyperparameters(hp)
        with precision_policy(hparams.precision):
            make_deterministic(self.settings.seed)  # round 0's initialisation
            model = build_model(self.settings.variant)
        weights = loss_weights(hparams.c_aux) if self.settings.tunes_c_aux else {"comparison": 1.0}
        return compile_model(model, hparams.learning_rate, weights)

    def fit(self, hp, model, *args, **kwargs):
        """Mean and std over the rounds of each validation error (%); the objective is the comparison mean."""
        s = self.settings
        hparams = self.hyperparameters(hp)
        runs = []
        for r in range(s.rounds):
            pairs = generate_training_pairs(s.pairs, s.seed + r, s.data_dir, s.download)
            fit_pairs, validation = train_validation_split(pairs, s.seed + r)
            runs.append(Run(s.variant, s.seed + r, hparams, fit_pairs, {"val": validation},
                            model=model if r == 0 else None))
        for run in runs:  # one at a time: packing them gains nothing on 2 cores (benchmarks/README.md)
            train_runs([run], verbose=kwargs.get("verbose", False))
        metrics = {"rounds": float(s.rounds)}
        for output in OUTPUTS:
            mean, std = summarize([run.errors[f"val_{output}"] for run in runs])
            if mean is not None:
                metrics[f"val_{output}_error"] = mean
            if std is not None:
                metrics[f"val_{output}_error_std"] = std
        metrics["seconds_per_round"] = float(np.mean([run.wall_s for run in runs]))
        return metrics
