"""Beyond the report: augmentation (affine, elastic), wider nets, swapped and re-paired training pairs,
ensembles, and `best` end to end."""

from dataclasses import replace

import numpy as np
import pytest

from conftest import assert_predict_matches_training, round_record, run_module
from kerascmp.names import COMPARISON, DIGIT1, DIGIT2, TEST, error_key


def test_augmentation_moves_training_images_only_and_keeps_their_shape():
    import keras

    from kerascmp.models import build_digit_net

    keras.utils.set_random_seed(0)
    net = build_digit_net(augment=True)
    augmented = keras.Model(net.input, net.get_layer("rotate").output)
    images = np.zeros((64, 14, 14), np.float32)
    images[:, 4:10, 6:8] = 255.0  # a bar, well inside the frame
    trained_on = np.asarray(augmented(images, training=True))[..., 0]
    served = np.asarray(augmented(images, training=False))[..., 0]
    assert trained_on.shape == served.shape == images.shape
    np.testing.assert_array_equal(served, images)  # inactive at inference
    moved = np.abs(trained_on - images).max(axis=(1, 2)) > 1
    assert moved.mean() > 0.5  # most training images are shifted or rotated
    assert trained_on.min() >= 0 and trained_on.max() <= 255.0 + 1e-3  # still raw pixels
    ink = trained_on.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert np.all((ink > 0.8) & (ink < 1.2))  # the digit stays in the frame: small moves only
    # the same net without augmentation computes the same function at inference
    keras.utils.set_random_seed(1)
    plain, again = build_digit_net(), build_digit_net(augment=True)
    again.set_weights(plain.get_weights())
    np.testing.assert_allclose(again(images, training=False), plain(images, training=False), atol=1e-5)


def test_elastic_distortion_warps_training_images_smoothly_and_is_serialisable():
    import keras

    from kerascmp.models import build_digit_net
    from kerascmp.models.layers import ElasticDistortion

    images = np.zeros((256, 14, 14, 1), np.float32)
    images[:, 3:11, 6:8] = 255.0  # a bar
    layer = ElasticDistortion(alpha=0.5, sigma=2.0, seed=1)
    warped = np.asarray(layer(images, training=True))
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)  # inactive at inference
    assert warped.shape == images.shape and warped.min() >= 0 and warped.max() <= 255.0 + 1e-3
    assert (np.abs(warped - images).max(axis=(1, 2, 3)) > 1).mean() > 0.9  # nearly every image moves
    ink = warped.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert np.all((ink > 0.5) & (ink < 1.6)) and abs(ink.mean() - 1) < 0.05  # a local warp, in the frame
    # the displacement field has the stated std, in pixels, away from the border
    noise = keras.random.uniform((128, 14, 14, 2), -1.0, 1.0, seed=3)
    field = np.asarray(layer._smooth(noise)) * layer._scale
    assert np.std(field[:, 5:9, 5:9]) == pytest.approx(0.5, rel=0.1)
    again = ElasticDistortion.from_config(layer.get_config())
    assert (again.alpha, again.sigma, again.seed) == (0.5, 2.0, 1)
    # as a switch of the digit net: registered, and a width multiplier scales the hidden layers
    net = build_digit_net(elastic=0.5, width=2)
    assert net.get_layer("elastic").alpha == 0.5 and net.get_layer("conv1").filters == 64
    assert net.get_layer("hidden").units == 400
    restored = keras.models.model_from_json(net.to_json())
    assert restored.get_layer("elastic").alpha == 0.5
    # it trains in a compiled graph, whose batch size is unknown when traced
    net.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = net.fit(images[:32, ..., 0], np.zeros(32, np.int32), batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_the_deeper_digit_net_is_four_small_convolutions_down_to_3x3_and_best_ensembles_it():
    import keras

    from kerascmp.models import build_digit_net, comparison_temperature
    from kerascmp.variants import get_variant
    from kerascmp.variants.beyond import BEST_MEMBERS, COMPARISON_TEMPERATURE

    net = build_digit_net(batch_norm=True, dropout=0.3, augment=True, deep=True)
    assert [net.get_layer(f"conv{b}_{k}").filters for b in (1, 2) for k in (1, 2)] == [32, 32, 64, 64]
    assert net.get_layer("hidden").input.shape[-1] == 3 * 3 * 64  # 14 -> 7 -> 3
    assert net.count_params() == 183_578
    assert net(np.zeros((4, 14, 14), np.float32)).shape == (4, 10)
    assert build_digit_net(deep=True, width=2).get_layer("conv2_2").filters == 128
    upsampled = build_digit_net(batch_norm=True, dropout=0.3, augment=True, deep=True, upsample=True)
    assert upsampled.get_layer("conv1_1").output.shape[1:3] == (28, 28)  # finer maps, the same parameters
    assert upsampled.get_layer("hidden").input.shape[-1] == 3 * 3 * 64 and upsampled.count_params() == 183_578
    assert upsampled(np.zeros((4, 14, 14), np.float32)).shape == (4, 10)
    with pytest.raises(ValueError, match="deep"):
        build_digit_net(upsample=True)
    restored = keras.models.model_from_json(net.to_json())
    assert restored.count_params() == net.count_params()
    best, smooth, sharp = (get_variant(name) for name in ("best", "beyond_smooth", "beyond_sharp"))
    # best: beyond_tta's nets and one beyond_upsampled net, BEST_MEMBERS in all, read on more views
    assert (
        best.nets == BEST_MEMBERS
        and best.joined == ("beyond_upsampled",)
        and best.ablation_of == "beyond_tta"
    )
    assert [v.name for v in best.net_variants()] == ["best"] * (BEST_MEMBERS - 1) + ["beyond_upsampled"]
    assert set(get_variant("beyond_tta").test_time_shifts) < set(best.test_time_shifts)
    assert len(best.test_time_shifts) == 8 and sorted(best.test_time_rotations) == [-10, -5, 5, 10]
    assert smooth.ablation_of == "beyond_deep" and best.label_smoothing == smooth.label_smoothing > 0
    assert sharp.ablation_of == "beyond_smooth" and sharp.seed_id == smooth.seed_id  # the same nets
    temperatures = [
        comparison_temperature(get_variant(v).build()) for v in ("beyond_smooth", "beyond_sharp", "best")
    ]
    assert (
        temperatures == [1.0, COMPARISON_TEMPERATURE, COMPARISON_TEMPERATURE] and COMPARISON_TEMPERATURE < 1
    )
    assert get_variant("beyond_deep").ablation_of == "beyond_long"
    tta = get_variant("beyond_tta")  # beyond_sharp's nets, each digit also read shifted by a pixel
    assert tta.ablation_of == "beyond_sharp" and tta.seed_id == sharp.seed_id
    assert len(tta.test_time_shifts) == 4 and tta.members == 1
    upsampled = get_variant("beyond_upsampled")  # beyond_tta's recipe on the upsampled net
    assert upsampled.ablation_of == "beyond_tta" and upsampled.test_time_shifts == tta.test_time_shifts
    assert upsampled.build().get_layer("digit_net").get_layer("conv1_1").output.shape[1:3] == (28, 28)
    assert comparison_temperature(upsampled.build()) == COMPARISON_TEMPERATURE
    distilled = get_variant("beyond_distilled")  # one net, taught from the seeds of best's members
    assert distilled.distillation.teachers == best.nets and distilled.seed_id == best.seed_id
    assert distilled.members == 1 and distilled.ablation_of == "beyond_deep"


def labelled_job(pairing: str, n: int = 50):
    """A job whose every image is filled with its digit label, so any batch can be checked against its
    targets; labels drawn at random, pairs in order."""
    import keras

    from kerascmp.engine.packing import Job

    classes = np.random.default_rng(0).integers(0, 10, size=(n, 2)).astype(np.int32)
    pairs = np.broadcast_to(classes[:, :, None, None], (n, 2, 14, 14)).astype(np.float32)
    targets = {COMPARISON: (classes[:, 0] <= classes[:, 1]).astype(np.int32), DIGIT1: classes[:, 0]}
    targets[DIGIT2] = classes[:, 1]
    model = keras.Sequential([keras.Input((2, 14, 14))])
    weights = {COMPARISON: 0.5, DIGIT1: 0.25, DIGIT2: 0.25}
    return Job(model, pairs, targets, weights, keras.optimizers.SGD(0.1), seed=3, pairing=pairing), classes


@pytest.mark.parametrize("pairing", ["swap", "repair"])
def test_swapped_and_repaired_pairs_take_their_targets_from_the_labels(pairing):
    from kerascmp.engine.packing import training_dataset

    job, classes = labelled_job(pairing)
    fixed, _ = labelled_job("fixed")
    epochs, n = 3, len(classes)
    batches = list(training_dataset([job, fixed], epochs=epochs, batch_size=10))
    assert len(batches) == epochs * n // 10
    seen = []
    for x, y in batches:
        image_labels = x["x0"].numpy()[:, :, 0, 0].astype(np.int32)  # (batch, 2): what the images show
        assert x["x0"].shape[1:] == (2, 14, 14)
        np.testing.assert_array_equal(y["r0_digit1"], image_labels[:, 0])
        np.testing.assert_array_equal(y["r0_digit2"], image_labels[:, 1])
        np.testing.assert_array_equal(y["r0_comparison"], image_labels[:, 0] <= image_labels[:, 1])
        fixed_labels = x["x1"].numpy()[:, :, 0, 0].astype(np.int32)  # the fixed job beside it: as before
        np.testing.assert_array_equal(y["r1_comparison"], fixed_labels[:, 0] <= fixed_labels[:, 1])
        seen.append(image_labels)
    per_epoch = np.concatenate(seen).reshape(epochs, n, 2)
    for epoch in per_epoch:  # every digit once per epoch
        np.testing.assert_array_equal(np.sort(epoch.ravel()), np.sort(classes.ravel()))
    as_given = {tuple(p) for p in classes}
    new = [np.mean([tuple(p) not in as_given for p in epoch]) for epoch in per_epoch]
    assert min(new) > 0.2  # pairs the fixed data does not hold: swapped, or new partners
    if pairing == "swap":  # the pairs themselves are kept, in either order
        assert all(
            {tuple(sorted(p)) for p in epoch} <= {tuple(sorted(p)) for p in classes} for epoch in per_epoch
        )


def test_pairing_is_refused_where_the_labels_are_missing():
    import keras

    from kerascmp.engine.packing import Job

    with pytest.raises(ValueError, match="both digits' labels"):
        Job(keras.Sequential(), np.zeros((4, 2, 14, 14)), {COMPARISON: np.zeros(4)}, {COMPARISON: 1.0},
            keras.optimizers.SGD(0.1), seed=0, pairing="repair")  # fmt: skip


def test_an_ensemble_outputs_its_members_mean_probability():
    import keras

    from kerascmp.models import AnalyticComparison, ensemble_model
    from kerascmp.variants import get_variant

    keras.utils.set_random_seed(0)
    members = [get_variant("analytic").build() for _ in range(3)]
    pairs = np.random.default_rng(0).uniform(0, 255, size=(32, 2, 14, 14)).astype(np.float32)
    alone = [{k: np.asarray(v, np.float64) for k, v in m(pairs).items()} for m in members]
    ensemble = {k: np.asarray(v, np.float64) for k, v in ensemble_model(members)(pairs).items()}

    def softmax(logits):
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    for digit in (DIGIT1, DIGIT2):
        mean = np.mean([softmax(a[digit]) for a in alone], axis=0)
        np.testing.assert_allclose(softmax(ensemble[digit]), mean, atol=1e-5)
    mean_digits = np.stack([ensemble[DIGIT1], ensemble[DIGIT2]], axis=1).astype(np.float32)
    exact = np.asarray(AnalyticComparison()(mean_digits), np.float64)  # P(a <= b) of the mean digits
    np.testing.assert_allclose(softmax(ensemble[COMPARISON]), softmax(exact), atol=1e-5)


def test_test_time_shifts_average_the_digit_probabilities_over_moved_pairs():
    import keras

    from kerascmp.models import PixelShift, ensemble_model
    from kerascmp.variants import get_variant

    pairs = np.random.default_rng(0).uniform(0, 255, size=(8, 2, 14, 14)).astype(np.float32)
    moved = np.asarray(PixelShift(1, -1)(pairs))
    np.testing.assert_array_equal(moved[:, :, 1:, :-1], pairs[:, :, :-1, 1:])  # down 1, left 1
    assert not moved[:, :, 0, :].any() and not moved[:, :, :, -1].any()  # background fills the edge

    keras.utils.set_random_seed(0)
    member = get_variant("analytic").build()
    shifts = ((1, 0), (0, -1))
    views = [pairs, np.asarray(PixelShift(1, 0)(pairs)), np.asarray(PixelShift(0, -1)(pairs))]
    tta = ensemble_model([member], shifts)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(tta))
    restored.set_weights(tta.get_weights())
    probabilities = [keras.ops.softmax(member(view)[DIGIT1]) for view in views]
    for model in (tta, restored):
        np.testing.assert_allclose(
            keras.ops.softmax(model(pairs)[DIGIT1]), np.mean(probabilities, axis=0), atol=1e-5
        )


def test_image_rotation_turns_images_as_scipy_does_and_averages_as_a_view():
    import keras
    from scipy import ndimage

    from kerascmp.models import ImageRotation, ensemble_model
    from kerascmp.variants import get_variant

    pairs = np.random.default_rng(1).uniform(0, 255, size=(8, 2, 14, 14)).astype(np.float32)
    for degrees in (5, -10):
        expected = ndimage.rotate(pairs, degrees, axes=(2, 3), reshape=False, order=1, mode="grid-constant")
        np.testing.assert_allclose(ImageRotation(degrees)(pairs), expected, atol=1e-3)
    np.testing.assert_allclose(ImageRotation(90)(pairs), np.rot90(pairs, 1, axes=(2, 3)), atol=1e-3)

    keras.utils.set_random_seed(0)
    member = get_variant("analytic").build()
    tta = ensemble_model([member], shifts=((1, 0),), rotations=(10,))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(tta))
    restored.set_weights(tta.get_weights())
    views = [pairs, np.pad(pairs, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :14], ImageRotation(10)(pairs)]
    probabilities = [keras.ops.softmax(member(view)[DIGIT1]) for view in views]
    for model in (tta, restored):
        np.testing.assert_allclose(
            keras.ops.softmax(model(pairs)[DIGIT1]), np.mean(probabilities, axis=0), atol=1e-5
        )


def test_test_time_rotations_are_checked_and_recorded_only_where_set():
    from kerascmp.engine.compile import training_recipe
    from kerascmp.variants import get_variant

    tta = get_variant("beyond_tta")
    assert "test_time_rotations" not in training_recipe(tta)  # the recipes recorded before stay as they were
    turned = replace(tta, name="turned", test_time_rotations=(5.0, -5.0))
    assert turned.test_time_views == len(tta.test_time_shifts) + 2
    assert training_recipe(turned)["test_time_rotations"] == [5.0, -5.0]
    with pytest.raises(ValueError, match="non-zero degrees"):
        replace(tta, name="still", test_time_rotations=(0.0,))
    with pytest.raises(ValueError, match="test-time views"):
        replace(get_variant("fc_baseline"), name="unpaired", test_time_rotations=(5.0,))


def test_joined_nets_of_another_variant_train_and_average_with_the_members(tiny_pairs, monkeypatch):
    from conftest import train_tiny
    from kerascmp import seeds
    from kerascmp.engine.compile import training_recipe
    from kerascmp.models import digit_nets
    from kerascmp.variants import get_variant, registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the probe leaves with the test
    mixed = registry.register_variant(
        replace(get_variant("beyond_adam"), name="mixed", joined=("beyond_deep",))
    )
    assert mixed.nets == 2 and mixed.model_seeds(7) == seeds.member_seeds(7, 2)
    assert training_recipe(mixed)["joined"] == {"beyond_deep": training_recipe(get_variant("beyond_deep"))}

    result = train_tiny("mixed", tiny_pairs)
    member, joined = (digit_nets(result.model.get_layer(f"member_{k}"))[0] for k in (0, 1))
    layer_names = {layer.name for layer in joined.layers}
    assert "conv1_1" in layer_names and "conv1_1" not in {layer.name for layer in member.layers}
    assert 0 <= result.errors[error_key(TEST, COMPARISON)] <= 100

    for joined_name, problem in (("nowhere", "is not registered"), ("separate", "joined variant")):
        registry.register_variant(replace(mixed, name="broken", joined=(joined_name,)))
        with pytest.raises(ValueError, match=problem):
            get_variant("broken").net_variants()
    with pytest.raises(ValueError, match="joined nets and test-time views need joint training"):
        replace(get_variant("fc_baseline"), name="unjoined", joined=("beyond_deep",))


def test_an_ensemble_trains_exports_and_predicts_as_one_model(tmp_path):
    # beyond_ensemble rather than best: the same ensemble path at a third of the cost (best's export and
    # runtimes are tested in test_portable)
    train = run_module(
        "kerascmp.train",
        "--variant",
        "beyond_ensemble",
        "--epochs",
        "1",
        "--pairs",
        "100",
        "--output-dir",
        str(tmp_path),
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert "3 members" in train.stdout
    assert_predict_matches_training(tmp_path / "beyond_ensemble", 100, tmp_path)


def test_the_failure_summary_counts_causes_and_digit_pairs():
    from kerascmp import cli
    from kerascmp.analysis.failure_summary import summarize_failures

    rounds = [
        round_record("best", test_comparison_failures=[[4, 3, 3, 3], [5, 6, 5, 6]]),
        round_record("best", round=1, test_comparison_failures=[[4, 3, 3, 3]]),
        round_record("main", test_comparison_failures=[[0, 9, 9, 0]]),
    ]
    summary = summarize_failures(rounds, "best")
    assert "3 wrong comparisons in 200 test pairs (2 rounds, 1.50 %)" in summary
    assert "- 2 (67 %) have a misread digit" in summary
    assert "| 4, 3 | 2 | 3, 3 |" in summary and "| 5, 6 | 1 | 5, 6 |" in summary
    assert "4 read as 3 (2)" in summary and "9" not in summary.split("Most frequent")[1]
    with pytest.raises(cli.UsageError, match="no rounds of separate"):
        summarize_failures(rounds, "separate")


def test_a_study_stores_the_pairs_each_round_compared_wrongly(tiny_pairs):
    from conftest import train_tiny
    from kerascmp.engine.scoring import comparison_failures

    result = train_tiny("analytic", tiny_pairs)
    failures = comparison_failures(result.model, tiny_pairs[1])
    assert len(failures) == round(result.errors[error_key(TEST, COMPARISON)] * len(tiny_pairs[1]) / 100)
    truths = {tuple(c) for c in tiny_pairs[1].classes}
    assert failures and all(tuple(f[:2]) in truths and 0 <= min(f[2:]) <= max(f[2:]) <= 9 for f in failures)
