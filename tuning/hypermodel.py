"""The study's search as a KerasTuner HyperModel: the grid declared through `hp`, `rounds` runs a point."""

from __future__ import annotations

import dataclasses

import keras_tuner
import numpy as np

from kerascmp import defaults, seeds
from kerascmp.analysis.summaries import summarize
from kerascmp.data import generate_training_pairs, train_validation_split, training_and_held_out_pairs
from kerascmp.engine.build import build_model
from kerascmp.engine.fitting import Trainer
from kerascmp.engine.runs import train_runs
from kerascmp.engine.specs import RunSpec
from kerascmp.names import COMPARISON, PAIR_OUTPUTS, VALIDATION, curve_key, error_key
from kerascmp.variants import Hyperparameters, get_variant
from tuning.oracle import FIRST_ROUND
from tuning.search_files import round_metric

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
    screen_rounds: int | None = None  # adaptive repetition: every point gets these, contenders the rest
    held_out_pairs: int | None = None  # validate on these, from MNIST-train images the training pairs leave

    def round_data(self, seed: int):
        """A round's pairs to train on and its validation pairs: an 80/20 split of `pairs` training pairs, or
        all of them and `held_out_pairs` more from the images they leave unused."""
        if self.held_out_pairs:
            return training_and_held_out_pairs(
                self.pairs, self.held_out_pairs, seed, self.data_dir, self.download
            )
        return train_validation_split(
            generate_training_pairs(self.pairs, seed, self.data_dir, self.download), seed
        )

    @property
    def tunes_c_aux(self) -> bool:
        return get_variant(self.variant).uses_c_aux

    def rounds_of(self, first_round: int) -> range:
        """The rounds a trial starting at `first_round` runs: the screening rounds, or the rest."""
        if self.screen_rounds and first_round == 0:
            return range(self.screen_rounds)
        return range(first_round, self.rounds)


class ComparisonHyperModel(keras_tuner.HyperModel):
    """`build(hp)` returns the model of the trial's first round, which `fit` trains, then the other rounds.

    Round r draws its training and validation pairs from seed + r (`SearchSettings.round_data`), the same
    at every grid point, so points are compared on equal data. Only the validation pairs are evaluated: the
    test pairs are never drawn. The rounds of a point share one compiled training step (`self.trainer`).
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
        if s.screen_rounds:  # not a grid dimension: the oracle sets it for a contender's remaining rounds
            hp.Choice(FIRST_ROUND, [0, s.screen_rounds])
        return variant.hyperparameters(
            learning_rate=learning_rate, c_aux=c_aux, epochs=s.epochs, precision=s.precision
        )

    def build(self, hp):
        """The model of the trial's first round, initialised from that round's seed."""
        hparams = self.hyperparameters(hp)
        first_round = hp.values.get(FIRST_ROUND, 0)
        # the first net of the first round's run, as train_runs would build it (an ensemble's members and
        # a distilled net have seeds of their own: Variant.model_seeds)
        variant = get_variant(self.settings.variant)
        seed = variant.model_seeds(seeds.round_seed(self.settings.seed, first_round))[0]
        return build_model(self.settings.variant, seed=seed, precision=hparams.precision)

    def fit(self, hp, model, *args, **kwargs):
        """Mean and std over the rounds of each validation error (%); the objective is the comparison mean."""
        s = self.settings
        hparams = self.hyperparameters(hp)
        results = []
        rounds = s.rounds_of(hp.values.get(FIRST_ROUND, 0))
        for r in rounds:
            seed = seeds.round_seed(s.seed, r)
            fit_pairs, validation = s.round_data(seed)
            spec = RunSpec(s.variant, seed, hparams, fit_pairs, {VALIDATION: validation})
            # One at a time: packing rounds gains nothing on 2 cores (benchmarks/README.md).
            (result,) = train_runs(
                [spec],
                trainer=self.trainer,
                models=[model] if r == rounds[0] else None,
                verbose=kwargs.get("verbose", False),
            )
            results.append(result)
            outcome = (
                "DIVERGED"
                if result.diverged
                else f"val comparison error {result.errors[error_key(VALIDATION, COMPARISON)]:.2f} %"
            )
            print(f"  round {r + 1} of {s.rounds}: {outcome} ({result.wall_s:.0f} s)", flush=True)
        variant = get_variant(s.variant)
        metrics = {"rounds": float(len(rounds)), "diverged_rounds": float(sum(r.diverged for r in results))}
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
                metrics.update({round_metric(metric, r): value for r, value in zip(rounds, per_round)})
            if std is not None:
                metrics[f"{metric}_std"] = std
        metrics["seconds_per_round"] = float(np.mean([result.wall_s for result in results]))
        return metrics
