import keras
import numpy as np
import pytest

from kerascmp import models
from kerascmp.models import digit_nets
from kerascmp.names import COMPARISON, DIGIT1, DIGIT2
from kerascmp.variants import get_variant, variant_names


def build_model(variant: str) -> keras.Model:
    return get_variant(variant).build()


def test_parameter_counts_match_the_report():
    assert build_model("main").count_params() == 105_036
    assert digit_nets(build_model("main"))[0].count_params() == models.DIGIT_NET_PARAMS == 104_994
    assert models.build_comparator().count_params() == models.COMPARISON_PARAMS == 42
    assert build_model("no_sharing").count_params() == 210_030
    assert build_model("fc_baseline").count_params() == 210_142  # 0.05 % above the report's 210,030
    assert build_model("main_paper_relu").count_params() == 105_036


@pytest.mark.parametrize("variant", variant_names())
def test_outputs_are_named_logits(variant):
    model = build_model(variant)
    out = model(np.zeros((3, 2, 14, 14), np.float32))
    assert set(out) == set(get_variant(variant).outputs)
    assert out[COMPARISON].shape == (3, 2)
    for name in set(out) - {COMPARISON}:
        assert out[name].shape == (3, 10)


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown variant"):
        build_model("resnet")


def test_main_shares_one_digit_net_and_stays_shared_after_training(tiny_pairs):
    model = build_model("main")
    assert len(digit_nets(model)) == 1
    assert len(model.trainable_weights) == 8 + 2  # one digit net (4 layers) + the comparison layer
    assert len(build_model("no_sharing").trainable_weights) == 2 * 8 + 2

    model.compile(
        keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    train = tiny_pairs[0]
    model.train_on_batch(
        train.pairs[:100],
        {COMPARISON: train.target[:100], DIGIT1: train.classes[:100, 0], DIGIT2: train.classes[:100, 1]},
    )
    pairs = train.pairs[:10]
    forward = model(pairs)
    swapped = model(pairs[:, ::-1])
    np.testing.assert_allclose(forward[DIGIT1], swapped[DIGIT2], atol=1e-5)


def test_no_sharing_branches_differ():
    model = build_model("no_sharing")
    pairs = np.random.default_rng(0).uniform(0, 255, (4, 2, 14, 14)).astype(np.float32)
    out, swapped = model(pairs), model(pairs[:, ::-1])
    assert not np.allclose(out[DIGIT1], swapped[DIGIT2])


def test_scaling_is_inside_the_model():
    model = build_model("main")
    rescaling = [layer for layer in digit_nets(model)[0].layers if isinstance(layer, keras.layers.Rescaling)]
    assert len(rescaling) == 1
    scaled = rescaling[0](np.array([[models.PIXEL_MEAN, models.PIXEL_MEAN + models.PIXEL_STD]], np.float32))
    np.testing.assert_allclose(scaled, [[0.0, 1.0]], atol=1e-5)


def test_one_hot_argmax_codes_and_blocks_gradients():
    import tensorflow as tf

    layer = models.OneHotArgmax()
    logits = tf.constant([[0.1, 3.0, -1.0], [5.0, 0.0, 4.9]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        codes = layer(logits)
        loss = tf.reduce_sum(codes * tf.constant([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(codes, [[0, 1, 0], [1, 0, 0]])
    gradient = tape.gradient(loss, logits)
    assert gradient is None or not np.any(gradient)


def test_paper_relu_clips_comparison_logits():
    plain = models.build_comparator(paper_relu=False)
    clipped = models.build_comparator(paper_relu=True)
    clipped.set_weights(plain.get_weights())
    x = np.random.default_rng(1).normal(size=(64, 2, 10)).astype(np.float32) * 5
    a, b = plain(x)[COMPARISON].numpy(), clipped(x)[COMPARISON].numpy()
    np.testing.assert_allclose(b, np.maximum(a, 0), atol=1e-6)
    assert (a < 0).any()
