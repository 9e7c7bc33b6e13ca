"""A grid oracle that resumes correctly.

KerasTuner's GridSearchOracle keeps its position in the grid in memory only (keras-team/keras-tuner#1055):
after a resume the first trial raises KeyError, and a second resume skips part of the grid. This oracle
keeps no position at all: the next point is always the first grid point that no saved trial holds.
KerasTuner's own reload puts a trial that was RUNNING when the process died back into the retry queue,
so an interrupted point is re-run under its own trial id, and a finished point is never repeated.
"""
from __future__ import annotations

import itertools

import keras_tuner
from keras_tuner.src.engine import trial as trial_module


class ResumableGridOracle(keras_tuner.Oracle):
    """Enumerates the full grid of `hp.Choice` values, in order, one trial per point."""

    def __init__(self, objective, grid: dict[str, list], **kwargs):
        super().__init__(objective=objective, max_trials=None, **kwargs)
        self.grid = grid

    def points(self) -> list[dict]:
        names = list(self.grid)
        return [dict(zip(names, values)) for values in itertools.product(*self.grid.values())]

    def populate_space(self, trial_id):
        taken = [trial.hyperparameters.values for trial in self.trials.values()]
        for point in self.points():
            if not any(all(values.get(k) == v for k, v in point.items()) for values in taken):
                return {"status": trial_module.TrialStatus.RUNNING, "values": point}
        if self.ongoing_trials:
            return {"status": trial_module.TrialStatus.IDLE, "values": None}
        return {"status": trial_module.TrialStatus.STOPPED, "values": None}
