"""The study's pair protocol (`generate_pair_sets`): N disjoint pairs of pooled MNIST digits.

The protocol (STUDY.md): pool MNIST 2x2 to 14x14, keep raw 0-255 floats, take one random permutation of
each split, use its first 2N images as N disjoint pairs. Target is 1 iff digit A <= digit B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerascmp import seeds
from kerascmp.data.mnist import MNIST_SIZES, load_mnist, max_pairs

DEFAULT_VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class PairSet:
    """N pairs: `pairs` (N, 2, 14, 14) float32 in 0-255, `target` (N,) int32, `classes` (N, 2) int32."""

    pairs: np.ndarray
    target: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    def subset(self, index) -> PairSet:
        return PairSet(self.pairs[index], self.target[index], self.classes[index])


def comparison_target(classes: np.ndarray) -> np.ndarray:
    """The task's label: 1 iff the first digit <= the second."""
    return (classes[:, 0] <= classes[:, 1]).astype(np.int32)


def _draw_pairs(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> PairSet:
    index = rng.permutation(len(labels))[: 2 * n].reshape(n, 2)
    classes = labels[index]
    return PairSet(images[index], comparison_target(classes), classes)


def _check_pairs(n: int, split: str) -> None:
    if not 1 <= n <= max_pairs(split):
        raise ValueError(
            f"pairs must be between 1 and {max_pairs(split)} "
            f"(MNIST-{split} has {MNIST_SIZES[split]} images), got {n}"
        )


def generate_pair_sets(
    n: int = 1000, seed: int = 0, data_dir: str | None = None, download: bool = False
) -> tuple[PairSet, PairSet]:
    """Train pairs from MNIST-train and test pairs from MNIST-test, n each, no image reused within a set."""
    _check_pairs(n, "test")
    mnist = load_mnist(None if data_dir is None else str(data_dir), download)
    rng = np.random.default_rng(seed)
    return _draw_pairs(*mnist["train"], n, rng), _draw_pairs(*mnist["test"], n, rng)


def generate_training_pairs(
    n: int = 1000, seed: int = 0, data_dir: str | None = None, download: bool = False
) -> PairSet:
    """The training half of `generate_pair_sets(n, seed)`, without drawing test pairs: for tuning."""
    _check_pairs(n, "train")
    mnist = load_mnist(None if data_dir is None else str(data_dir), download)
    return _draw_pairs(*mnist["train"], n, np.random.default_rng(seed))


def training_and_held_out_pairs(
    n: int, held_out: int, seed: int = 0, data_dir: str | None = None, download: bool = False
) -> tuple[PairSet, PairSet]:
    """The training pairs of `generate_training_pairs(n, seed)`, and `held_out` pairs of the MNIST-train
    images they leave unused: validation on the study's own training set, as large as MNIST-train allows.

    The held-out pairs continue the same permutation, so the first n pairs are exactly the study's.
    """
    if held_out < 1:
        raise ValueError(f"held-out pairs must be at least 1, got {held_out}")
    _check_pairs(n + held_out, "train")
    pairs = generate_training_pairs(n + held_out, seed, data_dir, download)
    return pairs.subset(slice(0, n)), pairs.subset(slice(n, None))


def train_validation_split(
    pairs: PairSet, seed: int, validation_fraction: float = DEFAULT_VALIDATION_FRACTION
) -> tuple[PairSet, PairSet]:
    """Seeded split of the training pairs; tuning looks only at the validation part."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {validation_fraction}")
    n_val = int(round(len(pairs) * validation_fraction))
    if n_val == 0 or n_val == len(pairs):
        raise ValueError(f"{len(pairs)} pairs are too few for a {validation_fraction:.0%} validation split")
    order = seeds.stream(seed, seeds.VALIDATION_SPLIT).permutation(len(pairs))
    return pairs.subset(np.sort(order[n_val:])), pairs.subset(np.sort(order[:n_val]))


def digits_of(pairs: PairSet) -> tuple[np.ndarray, np.ndarray]:
    """The 2N single digits of a pair set, for the separate variants' first stage: (2N, 14, 14), (2N,)."""
    return pairs.pairs.reshape(-1, 14, 14), pairs.classes.reshape(-1)
