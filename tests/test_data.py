import numpy as np
import pytest

from kerascmp import data
from kerascmp.data import pairs as pair_module
from kerascmp.errors import DataError


@pytest.fixture
def numbered_mnist(monkeypatch):
    """Synthetic MNIST whose every image carries its own id, so reuse and provenance are visible."""

    def fake_load(data_dir=None, download=False):
        def split(offset, n):
            ids = np.arange(offset, offset + n, dtype=np.float32)
            images = np.broadcast_to(ids[:, None, None], (n, 14, 14)).copy()
            return images, (np.arange(n) % 10).astype(np.int32)

        return {"train": split(0, 60_000), "test": split(100_000, 10_000)}

    monkeypatch.setattr(pair_module, "load_mnist", fake_load)


def test_pairs_use_disjoint_images_from_the_right_split(numbered_mnist):
    train, test = data.generate_pair_sets(1000, seed=3)
    train_ids, test_ids = train.pairs[:, :, 0, 0].ravel(), test.pairs[:, :, 0, 0].ravel()
    assert len(np.unique(train_ids)) == 2000 and len(np.unique(test_ids)) == 2000
    assert train_ids.max() < 60_000 and test_ids.min() >= 100_000


def test_all_of_mnist_test_can_be_paired_once(numbered_mnist):
    _, test = data.generate_pair_sets(5000, seed=0)
    assert len(np.unique(test.pairs[:, :, 0, 0])) == 10_000
    with pytest.raises(ValueError, match="at most|between"):
        data.generate_pair_sets(5001, seed=0)


def test_real_pairs_shapes_ranges_and_target_rule(tiny_pairs):
    for pairs in tiny_pairs:
        assert pairs.pairs.shape == (200, 2, 14, 14) and pairs.pairs.dtype == np.float32
        assert pairs.pairs.min() >= 0 and pairs.pairs.max() <= 255 and pairs.pairs.max() > 200
        assert pairs.classes.shape == (200, 2) and pairs.target.shape == (200,)
        np.testing.assert_array_equal(pairs.target, pairs.classes[:, 0] <= pairs.classes[:, 1])
        assert 0.4 < pairs.target.mean() < 0.7  # about 55 % of targets are 1


def test_pooling_is_a_2x2_average():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    pooled = np.asarray(data.pool_2x2(images))
    assert pooled.shape == (2, 14, 14)
    assert pooled[0, 0, 0] == np.mean(images[0, :2, :2].astype(np.float32))
    assert pooled[1, 13, 13] == np.mean(images[1, 26:, 26:].astype(np.float32))


def test_same_seed_same_pairs_other_seed_other_pairs():
    a_train, a_test = data.generate_pair_sets(100, seed=7)
    b_train, b_test = data.generate_pair_sets(100, seed=7)
    c_train, _ = data.generate_pair_sets(100, seed=8)
    np.testing.assert_array_equal(a_train.pairs, b_train.pairs)
    np.testing.assert_array_equal(a_test.classes, b_test.classes)
    assert not np.array_equal(a_train.pairs, c_train.pairs)


def test_train_validation_split_is_seeded_and_disjoint(numbered_mnist):
    train, _ = data.generate_pair_sets(1000, seed=0)
    fit, val = data.train_validation_split(train, seed=5)
    assert (len(fit), len(val)) == (800, 200)
    fit_ids, val_ids = set(fit.pairs[:, 0, 0, 0]), set(val.pairs[:, 0, 0, 0])
    assert not fit_ids & val_ids and fit_ids | val_ids == set(train.pairs[:, 0, 0, 0])
    again, _ = data.train_validation_split(train, seed=5)
    np.testing.assert_array_equal(fit.pairs, again.pairs)
    with pytest.raises(ValueError):
        data.train_validation_split(train, seed=5, validation_fraction=1.5)


def test_missing_data_dir_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="--data-dir|--download"):
        data.load_mnist(str(tmp_path / "nowhere"))


def test_corrupt_data_dir_is_a_data_error(tmp_path):
    version = tmp_path / "mnist" / "3.0.1"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot read MNIST"):
        data.load_mnist(str(tmp_path))


def test_every_pair_carries_the_classes_of_its_own_images(numbered_mnist):
    """In the fake MNIST an image's label is its id mod 10, so a pair's classes follow from its pixels."""
    train, test = data.generate_pair_sets(500, seed=4)
    for pairs, offset in ((train, 0), (test, 100_000)):
        ids = pairs.pairs[:, :, 0, 0].astype(np.int64) - offset
        np.testing.assert_array_equal(pairs.classes, ids % 10)
        np.testing.assert_array_equal(pairs.target, pairs.classes[:, 0] <= pairs.classes[:, 1])


def test_training_pairs_alone_are_the_training_half_of_the_pair_sets(numbered_mnist):
    train, _ = data.generate_pair_sets(300, seed=9)
    alone = data.generate_training_pairs(300, seed=9)
    for a, b in ((train.pairs, alone.pairs), (train.classes, alone.classes), (train.target, alone.target)):
        np.testing.assert_array_equal(a, b)


def test_held_out_pairs_follow_the_studys_training_pairs_on_images_they_leave_unused(numbered_mnist):
    train, _ = data.generate_pair_sets(300, seed=9)
    fit, held_out = data.training_and_held_out_pairs(300, 200, seed=9)
    np.testing.assert_array_equal(fit.pairs, train.pairs)
    np.testing.assert_array_equal(fit.classes, train.classes)
    assert len(held_out) == 200
    ids = lambda pairs: set(pairs.pairs[:, :, 0, 0].astype(np.int64).ravel())  # noqa: E731
    assert len(ids(held_out)) == 400 and not ids(held_out) & ids(fit)
    np.testing.assert_array_equal(held_out.target, held_out.classes[:, 0] <= held_out.classes[:, 1])
    with pytest.raises(ValueError, match="at least 1"):
        data.training_and_held_out_pairs(300, 0, seed=9)
    with pytest.raises(ValueError, match="pairs must be between"):
        data.training_and_held_out_pairs(300, data.max_pairs("train"), seed=9)
