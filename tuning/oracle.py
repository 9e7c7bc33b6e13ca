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


def grid_of(space: keras_tuner.HyperParameters) -> dict[str, list]:
    """{name: values} of a declared search space; a grid needs every hyperparameter to be an `hp.Choice`."""
    grid = {}
    for hp in space.space:
        if not isinstance(hp, Choice):
            raise ValueError(f"a grid needs hp.Choice, got {type(hp).__name__} for {hp.name!r}")
        grid[hp.name] = list(hp.values)
    return grid


def points_of(grid: dict[str, list]) -> list[dict]:
    """Every point of the grid, the first hyperparameter varying slowest."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


class ResumableGridOracle(keras_tuner.Oracle):
    """Enumerates the full grid of the declared `hp.Choice` values, in order, one trial per point."""

    def __init__(self, objective, **kwargs):
        super().__init__(objective=objective, max_trials=None, **kwargs)

    def populate_space(self, trial_id):
        taken = [trial.hyperparameters.values for trial in self.trials.values()]
        for point in points_of(grid_of(self.get_space())):
            if not any(all(values.get(k) == v for k, v in point.items()) for values in taken):
                return {"status": TrialStatus.RUNNING, "values": point}
        if self.ongoing_trials:
            return {"status": TrialStatus.IDLE, "values": None}
        return {"status": TrialStatus.STOPPED, "values": None}
