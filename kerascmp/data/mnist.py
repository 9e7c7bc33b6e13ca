"""MNIST through tensorflow-datasets: the bundled data dir, decoded once per process, pooled 2x2 to 14x14."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from kerascmp.errors import DataError

BUNDLED_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "tensorflow_datasets"
MNIST_SIZES = {"train": 60_000, "test": 10_000}


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
