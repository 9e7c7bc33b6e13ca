"""Every seed kerascmp derives, named, in one place.

A command's `--seed S` is the root. Round r draws its pairs from S + r (`round_seed`), so every variant and
every grid point of round r sees the same data. What else a run needs (initialisation, shuffles, the
validation split, an ensemble's members) is derived from that run's seed here, through NumPy generators
keyed by `[seed, stream]`, so no stream depends on another's use or on a global RNG. Importing this module
is free: it needs only NumPy.
"""

from __future__ import annotations

import zlib

import numpy as np

# The independent NumPy streams drawn from one run's seed: np.random.default_rng([seed, stream]).
VALIDATION_SPLIT, EPOCH_ORDERS, REPAIRING, SWAPS, MIXUP = 1, 2, 3, 4, 5


def round_seed(seed: int, round_index: int) -> int:
    """Round r's data seed (its pairs, and in train and tuning its run seed too): the command's seed + r."""
    return seed + round_index


def study_run_seed(seed: int, variant_id: int, round_index: int) -> int:
    """A study's (variant, round) initialisation and shuffling seed: its own, whatever subset of variants
    is run or loaded."""
    state = np.random.SeedSequence([seed, variant_id, round_index]).generate_state(1)[0]
    return int(state % 2**31)


def name_id(name: str) -> int:
    """A stable number for a variant that declares no seed identity of its own: its name's CRC-32."""
    return zlib.crc32(name.encode())


def member_seed(seed: int, member: int, members: int) -> int:
    """The seed of an ensemble's member: the run's own seed for a single model; distinct for every
    (run seed, member) otherwise."""
    return seed if members == 1 else (seed * members + member) % 2**32


def member_seeds(seed: int, members: int) -> list[int]:
    """The seeds of every member of an ensemble of `members` trained from `seed`."""
    return [member_seed(seed, m, members) for m in range(members)]


def student_seed(seed: int, teachers: int) -> int:
    """The seed of a distilled run's net: the one after its teachers', which are an ensemble's members."""
    return (seed * teachers + teachers) % 2**32


def stream(seed: int, which: int) -> np.random.Generator:
    """One of a run's independent NumPy streams (VALIDATION_SPLIT, EPOCH_ORDERS, REPAIRING, SWAPS, MIXUP)."""
    return np.random.default_rng([seed, which])
