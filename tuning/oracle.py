"""A grid oracle that resumes correctly.

KerasTuner's GridSearchOracle keeps its position in the grid in memory only (keras-team/keras-tuner#1055):
after a resume the first trial raises KeyError, and a second resume skips part of the grid. This oracle
keeps no position at all: like the stock one it walks `self.get_space()` (the `hp.Choice`s that the
HyperModel declares), and the next point is always the first grid point that no saved trial holds.
KerasTuner's own reload puts a trial that was RUNNING when the process died back into the retry queue,
so an interrupted point is re-run under its own trial id, and a finished point is never repeated.
"""

from __future__ import annotations

import itertools

import keras_tuner
from keras_tuner.engine.hyperparameters import Choice
from keras_tuner.engine.trial import TrialStatus

from tuning.adaptive import contenders
from tuning.search_files import ROUND_METRIC

FIRST_ROUND = "first_round"  # not a grid dimension: where a trial's rounds start (adaptive repetition)


def grid_of(space: keras_tuner.HyperParameters) -> dict[str, list]:
    """{name: values} of a declared search space; a grid needs every hyperparameter to be an `hp.Choice`."""
    grid = {}
    for hp in space.space:
        if hp.name == FIRST_ROUND:
            continue
        if not isinstance(hp, Choice):
            raise ValueError(f"a grid needs hp.Choice, got {type(hp).__name__} for {hp.name!r}")
        grid[hp.name] = list(hp.values)
    return grid


def points_of(grid: dict[str, list]) -> list[dict]:
    """Every point of the grid, the first hyperparameter varying slowest."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


class ResumableGridOracle(keras_tuner.Oracle):
    """Enumerates the full grid of the declared `hp.Choice` values, in order, one trial per point.

    With `screen_rounds` (adaptive repetition), those trials run the screening rounds only; once they are
    all done, each point that could still be best (`tuning.adaptive.contenders`) gets one more trial, for
    the remaining rounds, marked by its `first_round`. Everything is derived from the saved trials.
    """

    def __init__(self, objective, *, screen_rounds: int | None = None, metric: str | None = None, **kwargs):
        super().__init__(objective=objective, max_trials=None, **kwargs)
        self.screen_rounds, self.metric = screen_rounds, metric

    def populate_space(self, trial_id):
        points = points_of(grid_of(self.get_space()))
        for point in points:
            if not self._trials_of(point, first_round=0):
                return self._run(point, first_round=0)
        if self.screen_rounds and not self.ongoing_trials:
            for point in self._contenders(points):
                if not self._trials_of(point, first_round=self.screen_rounds):
                    return self._run(point, first_round=self.screen_rounds)
        if self.ongoing_trials:  # screening still running elsewhere: contenders are chosen when it is done
            return {"status": TrialStatus.IDLE, "values": None}
        return {"status": TrialStatus.STOPPED, "values": None}

    def _run(self, point: dict, first_round: int) -> dict:
        values = {**point, FIRST_ROUND: first_round} if self.screen_rounds else point
        return {"status": TrialStatus.RUNNING, "values": values}

    def _trials_of(self, point: dict, first_round: int) -> list:
        return [
            trial
            for trial in self.trials.values()
            if all(trial.hyperparameters.values.get(k) == v for k, v in point.items())
            and trial.hyperparameters.values.get(FIRST_ROUND, 0) == first_round
        ]

    def _contenders(self, points: list[dict]) -> list[dict]:
        per_round = {}
        for index, point in enumerate(points):
            rounds = {}
            for trial in self._trials_of(point, first_round=0):
                if trial.status == TrialStatus.COMPLETED:
                    for name in trial.metrics.metrics:
                        match = ROUND_METRIC.fullmatch(name)
                        if match and match.group(1) == self.metric:
                            rounds[int(match.group(2))] = trial.metrics.get_last_value(name)
            if rounds:
                per_round[index] = rounds
        return [points[index] for index in contenders(per_round)]
