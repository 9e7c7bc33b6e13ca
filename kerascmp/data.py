"""MNIST through tensorflow-datasets, and the study's pair protocol (`generate_pair_sets`).

The protocol (STUDY.md): pool MNIST 2x2 to 14x14, keep raw 0-255 floats, take one random permutation of
each split, use its first 2N images as N disjoint pairs. Target is 1 iff digit A <= digit B.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascmp import seeds

BUNDLED_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "tensorflow_datasets"
MNIST_SIZES = {"train": 60_000, "test": 10_000}
DEFAULT_VALIDATION_FRACTION = 0.2


class DataError(Exception):
    """The MNIST data cannot be found or read; the message says how to fix it."""


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


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """`data_dir`, else $TFDS_DATA_DIR, else the copy bundled in the repository."""
    return Path(data_dir or os.environ.get("TFDS_DATA_DIR") or BUNDLED_DATA_DIR)


@functools.lru_cache(maxsize=4)
def load_mnist(
    data_dir: str | None = None, download: bool = False
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (images (n, 14, 14) float32 pooled, labels (n,) int32)}, decoded once per process."""
    import tensorflow_datasets as tfds

    path = resolve_data_dir(data_dir)
    if download and not (path / "mnist").is_dir():
        _check_network()
    if not download and not (path / "mnist").is_dir():
        raise DataError(
            f"no prepared MNIST under {path} (expected {path / 'mnist'}/3.0.1/). Point --data-dir or "
            "TFDS_DATA_DIR at a tensorflow-datasets data dir that holds mnist, or add --download to fetch it."
        )
    try:
        splits = tfds.as_numpy(
            tfds.load(
                "mnist",
                split=["train", "test"],
                data_dir=str(path),
                download=download,
                batch_size=-1,
                as_supervised=True,
            )
        )
    except Exception as err:  # TFDS raises many types for a broken dir; all mean the same to the user.
        raise DataError(
            f"cannot read MNIST from {path}: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}. "
            "Restore data/tensorflow_datasets from the repository, or rerun with --download."
        ) from err
    result = {}
    for name, (images, labels) in zip(("train", "test"), splits):
        if len(labels) != MNIST_SIZES[name]:
            raise DataError(
                f"MNIST {name} split under {path} has {len(labels)} images, expected {MNIST_SIZES[name]}"
            )
        result[name] = (np.asarray(pool_2x2(images[..., 0])), labels.astype(np.int32))
    return result


MNIST_HOST = ("storage.googleapis.com", 443)  # where tensorflow-datasets fetches MNIST


def _check_network(timeout_s: float = 5.0) -> None:
    """Fail in seconds, not after TFDS's minutes of retries, when MNIST's host cannot be reached."""
    import socket

    try:
        socket.create_connection(MNIST_HOST, timeout=timeout_s).close()
    except OSError as err:
        raise DataError(
            f"--download: cannot reach {MNIST_HOST[0]} ({err.strerror or type(err).__name__}); connect to a "
            "network, or point --data-dir at a tensorflow-datasets data dir that holds mnist"
        ) from None


def pool_2x2(images):
    """Average-pool (..., 28, 28) images to (..., 14, 14) float32, values stay in 0-255.

    keras.ops, so that the exported `from_mnist` signature runs the very same pooling in its graph.
    """
    from keras import ops

    images = ops.cast(images, "float32")
    leading = tuple(ops.shape(images)[:-2])
    return ops.mean(ops.reshape(images, (*leading, 14, 2, 14, 2)), axis=(-3, -1))


def max_pairs(split: str = "train") -> int:
    """How many disjoint pairs a split can give."""
    return MNIST_SIZES[split] // 2


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
