"""The data stage: MNIST from the bundled tensorflow-datasets dir (`mnist`), and the study's pairs (`pairs`).

Importing it is free: TensorFlow Datasets loads when MNIST is first read.
"""

from kerascmp.data.mnist import load_mnist, max_pairs, pool_2x2, resolve_data_dir
from kerascmp.data.pairs import (
    PairSet,
    digits_of,
    generate_pair_sets,
    generate_training_pairs,
    train_validation_split,
    training_and_held_out_pairs,
)

__all__ = [
    "PairSet",
    "digits_of",
    "generate_pair_sets",
    "generate_training_pairs",
    "load_mnist",
    "max_pairs",
    "pool_2x2",
    "resolve_data_dir",
    "train_validation_split",
    "training_and_held_out_pairs",
]
