"""Reliability II, sizes bounded and the user's code checked (issue 19, cases 9 and 11).

Every size a user gives is bounded with a clear error before it can eat memory; a plugin's model, or a
SavedModel posing as an export, that is not what kerascmp needs is refused in one line. RELIABILITY.md
lists every case with its test.
"""

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import assert_clean_failure, assert_one_line_failure, run_in_process, run_module
from kerascmp.serving.inputs import MAX_IMAGE_PIXELS

TINY = ["--epochs", "1", "--pairs", "100"]


# ---- case 9: every size bounded ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, flag, value, fragment",
    [
        ("kerascmp.train", "--epochs", "99999999999999999999", "from 1 to 10,000"),
        ("kerascmp.train", "--batch-size", "1e20", "must be an integer from 1 to 60,000"),
        ("kerascmp.train", "--batch-size", "100000000000000000000", "from 1 to 60,000"),
        ("kerascmp.study", "--rounds", "1000000", "from 1 to 1,000"),
        ("tuning.search", "--epochs", "20000", "from 1 to 10,000"),
    ],
)
def test_huge_numbers_are_refused_before_anything_starts(module, flag, value, fragment):
    assert_clean_failure(run_module(module, flag, value), fragment)


def test_the_python_api_bounds_hyperparameters_too():
    from kerascmp import Hyperparameters

    with pytest.raises(ValueError, match="epochs must be from 1 to 10,000"):
        Hyperparameters(0.1, epochs=10**20).validate()
    with pytest.raises(ValueError, match="batch size must be from 1 to 60,000"):
        Hyperparameters(0.1, batch_size=10**20).validate()


def png_header_only(path, width: int, height: int):
    """A PNG whose header claims width x height (the data is a few bytes: decoding would allocate it all)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )
    return str(path)


def digit_png(path, frames: int = 1):
    image = np.zeros((28, 28), np.uint8)
    image[8:20, 12:16] = 255
    # each later frame differs (GIF writers merge repeated frames): the stroke moved right
    pictures = [Image.fromarray(image)] + [
        Image.fromarray(np.roll(image, 2 * k, axis=1)) for k in range(1, frames)
    ]
    pictures[0].save(path, save_all=frames > 1, append_images=pictures[1:])
    return str(path)


def test_an_endless_or_huge_image_file_is_refused_unread(tmp_path, capsys):
    good = digit_png(tmp_path / "a.png")
    started = time.perf_counter()
    outcome = run_in_process(
        "kerascmp.predict", "--model", str(tmp_path / "none"), "/dev/zero", good, capsys=capsys
    )
    assert_one_line_failure(outcome, "/dev/zero", "larger than 20 MB")
    assert time.perf_counter() - started < 30  # 20 MB read, not 9.5 GB


def test_an_image_of_too_many_pixels_is_refused_from_its_header(tmp_path, capsys):
    good = digit_png(tmp_path / "a.png")
    huge = png_header_only(tmp_path / "huge.png", 10000, 10000)
    assert 10000 * 10000 > MAX_IMAGE_PIXELS
    outcome = run_in_process("kerascmp.predict", "--model", str(tmp_path / "none"), huge, good, capsys=capsys)
    assert_one_line_failure(outcome, "huge.png", "10000x10000 pixels")


def test_an_animated_gif_says_which_frame_is_read():
    import tempfile
    from pathlib import Path

    from kerascmp.serving.inputs import read_image

    with tempfile.TemporaryDirectory() as tmp:
        pixels, notes = read_image(digit_png(Path(tmp) / "moving.gif", frames=3))
    assert pixels[14, 13] > 200 and pixels[14, 17] < 50  # the first frame's stroke, not a later one's
    assert any("animated GIF of 3 frames; its first frame is read" in note for note in notes)


# ---- case 11: a plugin's model, and a SavedModel, checked ----------------------------------------------

PLUGIN = """
import keras
import kerascmp
from kerascmp.models import pair_model

def build():
{body}

kerascmp.register_variant(kerascmp.Variant("broken", build, kerascmp.Hyperparameters(0.1, 0.25)))
"""


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('    raise RuntimeError("out of ideas")', "build() raised RuntimeError: out of ideas"),
        (
            "    pairs = keras.Input((2, 14, 14))\n"
            "    return keras.Model(pairs, keras.layers.Dense(2)(keras.layers.Flatten()(pairs)))",
            "output is a KerasTensor; it must be a dict",
        ),
        (
            "    pairs = keras.Input((2, 14, 14))\n    flat = keras.layers.Flatten()(pairs)\n"
            "    return keras.Model(pairs, {'verdict': keras.layers.Dense(2)(flat)})",
            "returned outputs verdict; the variant declares digit1, digit2, comparison",
        ),
        (
            "    pairs = keras.Input((2, 14, 14))\n    flat = keras.layers.Flatten()(pairs)\n"
            "    heads = {'digit1': 7, 'digit2': 10, 'comparison': 2}\n"
            "    outputs = {k: keras.layers.Dense(n, name=k)(flat) for k, n in heads.items()}\n"
            "    return keras.Model(pairs, outputs)",
            "'digit1' has shape (None, 7)",
        ),
        ('    return "a model"', "returned a str, not a keras.Model"),
    ],
    ids=["raises", "not_a_dict", "wrong_names", "seven_digit_classes", "not_a_model"],
)
def test_a_plugin_model_that_is_not_what_it_declares_is_one_line(body, fragment, tmp_path, capsys):
    plugin = tmp_path / "broken.py"
    plugin.write_text(PLUGIN.format(body=body))
    outcome = run_in_process(
        "kerascmp.train", "--variant", "broken", "--plugin", str(plugin), *TINY, "--output-dir",
        str(tmp_path / "out"), capsys=capsys,
    )  # fmt: skip
    assert_one_line_failure(outcome, "variant broken", fragment)
    assert not (tmp_path / "out" / "broken").exists()  # refused before training: nothing exported


def test_a_plugin_whose_build_raises_is_one_line_from_the_command_line(tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text(PLUGIN.format(body='    raise RuntimeError("out of ideas")'))
    result = run_module("kerascmp.study", "--variants", "broken", "--plugin", str(plugin), *TINY,
                        "--output-dir", str(tmp_path / "study"))  # fmt: skip
    assert_clean_failure(result, "variant broken: build() raised RuntimeError: out of ideas")


@pytest.mark.parametrize("classes", [1, 3])
def test_a_comparison_head_of_other_than_two_classes_is_refused(classes, tmp_path, capsys):
    body = (
        "    pairs = keras.Input((2, 14, 14))\n    flat = keras.layers.Flatten()(pairs)\n"
        f"    return keras.Model(pairs, {{'comparison': keras.layers.Dense({classes})(flat)}})"
    )
    plugin = tmp_path / "broken.py"
    plugin.write_text(
        PLUGIN.format(body=body).replace(
            "build, kerascmp.Hyperparameters(0.1, 0.25))",
            "build, kerascmp.Hyperparameters(0.1), outputs=('comparison',))",
        )
    )
    out = tmp_path / "out"
    outcome = run_in_process(
        "kerascmp.train", "--variant", "broken", "--plugin", str(plugin), *TINY, "--output-dir", str(out),
        capsys=capsys,
    )  # fmt: skip
    assert_one_line_failure(outcome, f"'comparison' has shape (None, {classes})", "2 classes")
    assert not out.exists() or not any(out.iterdir())  # nothing trained, nothing exported


def test_a_savedmodel_with_kerascmps_signature_names_but_other_inputs_is_refused(tmp_path, capsys):
    import tensorflow as tf

    class Impostor(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="pairs")])
        def serving(self, pairs):
            return {"p_first_leq_second": pairs[:, 0], "first_leq_second": pairs[:, 0] > 0}

    impostor = Impostor()
    model = tmp_path / "impostor"
    tf.saved_model.save(
        impostor, str(model), signatures={"serving_default": impostor.serving, "from_mnist": impostor.serving}
    )
    good = digit_png(tmp_path / "a.png")
    result = run_module("kerascmp.predict", "--model", str(model), good, good)
    assert_clean_failure(
        result, "signature serving_default takes pairs (None, 3) float32", "not a kerascmp export"
    )
