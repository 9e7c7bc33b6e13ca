"""What a run is (`RunSpec`) and what it gives (`RunResult`): the engine's two records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kerascmp.data import PairSet
from kerascmp.variants import Hyperparameters

if TYPE_CHECKING:
    import keras


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
    cpu_s: float | None = None  # process CPU time, all threads; a packed run's share
    diverged: bool = False
