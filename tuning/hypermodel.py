"""The study's search as a KerasTuner HyperModel: the grid declared through `hp`, `rounds` runs a point."""

from __future__ import annotations

import dataclasses

import keras_tuner
import numpy as np

from kerascmp import defaults
from kerascmp.data import generate_training_pairs, train_validation_split
from kerascmp.outputs import COMPARISON, PAIR_OUTPUTS, VALIDATION, curve_key, error_key
from kerascmp.trainer import Trainer
from kerascmp.training import RunSpec, build_model, summarize, train_runs
from kerascmp.variants import Hyperparameters, get_variant
from tuning.report import round_metric

OBJECTIVE = curve_key(COMPARISON, monitored=True)  # mean validation comparison error over the rounds


DIVERGED_ERROR = 100.0


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


class ComparisonHyperModel(keras_tuner.HyperModel):
    """`build(hp)` returns round 0's model, which `fit` trains, with rounds - 1 more repetitions.

    Round r draws its training pairs and its train/validation split from seed + r, the same at every grid
    point, so points are compared on equal data. Only the validation split is evaluated: the test pairs
    are never drawn. The rounds of a point share one compiled training step (`self.trainer`).
    """

    def __init__(self, settings: SearchSettings):
        super().__init__(name=f"kerascmp_{settings.variant}")
        self.settings = settings
        self.trainer = Trainer()

    def hyperparameters(self, hp: keras_tuner.HyperParameters) -> Hyperparameters:
        """The search space, declared here once: learning rate, and c_aux where the loss has aux terms."""
        s = self.settings
        variant = get_variant(s.variant)
        learning_rate = hp.Choice("learning_rate", s.learning_rates)
        c_aux = hp.Choice("c_aux", s.c_aux_values) if s.tunes_c_aux else None
        return variant.hyperparameters(
            learning_rate=learning_rate, c_aux=c_aux, epochs=s.epochs, precision=s.precision
        )

    def build(self, hp):
        hparams = self.hyperparameters(hp)
        return build_model(self.settings.variant, seed=self.settings.seed, precision=hparams.precision)

    def fit(self, hp, model, *args, **kwargs):
        """Mean and std over the rounds of each validation error (%); the objective is the comparison mean."""
        s = self.settings
        hparams = self.hyperparameters(hp)
        results = []
        for r in range(s.rounds):
            pairs = generate_training_pairs(s.pairs, s.seed + r, s.data_dir, s.download)
            fit_pairs, validation = train_validation_split(pairs, s.seed + r)
            spec = RunSpec(s.variant, s.seed + r, hparams, fit_pairs, {VALIDATION: validation})
            # One at a time: packing rounds gains nothing on 2 cores (benchmarks/README.md).
            (result,) = train_runs(
                [spec],
                trainer=self.trainer,
                models=[model] if r == 0 else None,
                verbose=kwargs.get("verbose", False),
            )
            results.append(result)
        variant = get_variant(s.variant)
        metrics = {"rounds": float(s.rounds), "diverged_rounds": float(sum(r.diverged for r in results))}
        for output in PAIR_OUTPUTS:
            metric = curve_key(output, monitored=True)
            # A diverged round answers nothing: it scores the worst error, 100 %, so it never wins.
            per_round = [
                DIVERGED_ERROR
                if result.diverged and output in variant.outputs
                else result.errors[error_key(VALIDATION, output)]
                for result in results
            ]
            mean, std = summarize(per_round)
            if mean is not None:
                metrics[metric] = mean
                metrics.update({round_metric(metric, r): value for r, value in enumerate(per_round)})
            if std is not None:
                metrics[f"{metric}_std"] = std
        metrics["seconds_per_round"] = float(np.mean([result.wall_s for result in results]))
        return metrics
