"""A kerascmp SavedModel converted for other runtimes: ONNX (tf2onnx, run by ONNX Runtime) and LiteRT
(the TFLite converter, run by ai-edge-litert), from its float32 `serving_default` signature.

A conversion is checked before it is written: on real MNIST-test pairs it must reproduce the SavedModel's
outputs within `TOLERANCE` and every verdict, or nothing is written. The file appears whole (written
beside the target and renamed) and replaces only a kerascmp model of its own format.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from kerascmp import outputs
from kerascmp.errors import StorageError, UsageError
from kerascmp.files import publish
from kerascmp.names import FIRST_LEQ_SECOND, SERVING, SIGNATURE_INPUT, SIGNATURE_INPUTS
from kerascmp.serving.runtimes import FORMATS, SavedModelRunner, format_of, open_model

CONVERTED = ("onnx", "tflite")
TOLERANCE = 1e-5  # the largest difference from the SavedModel's outputs a conversion may show
ONNX_OPSET = 17
CHECK_PAIRS, CHECK_SEED = 1000, 0  # the MNIST-test pairs every conversion is checked on


RUNTIMES = {"onnx": "ONNX Runtime", "tflite": "LiteRT"}


@dataclasses.dataclass(frozen=True)
class Conversion:
    """A written conversion, and how closely its runtime reproduced the SavedModel."""

    path: Path
    fmt: str
    size_bytes: int
    max_difference: float  # from the SavedModel, over every output on the check pairs
    pairs_checked: int
    replaced: bool = False  # a kerascmp model of its format was there before

    def describe(self) -> str:
        return (
            f"wrote {self.path} ({self.size_bytes / 1024:.0f} KiB"
            + (f", replacing the {self.fmt} model there" if self.replaced else "")
            + f"): in {RUNTIMES[self.fmt]} it gives the SavedModel's verdicts on {self.pairs_checked} "
            f"MNIST-test pairs, outputs within {self.max_difference:.1g} (at most {TOLERANCE:g} allowed)"
        )


def default_output(model_dir: str | Path, fmt: str) -> Path:
    """`saved_models/X` -> `saved_models/X.onnx` (or `.tflite`), beside `X.keras`."""
    return Path(str(model_dir).rstrip("/") + FORMATS[fmt])


def is_conversion(path: Path, fmt: str) -> bool:
    """Whether `path` is a kerascmp model of `fmt` (its runtime opens it with kerascmp's signature)."""
    try:
        open_model(path)
    except UsageError:
        return False
    return format_of(path) == fmt


def output_of(output: Path, fmt: str, flag: str = "--output") -> outputs.Output:
    """A conversion as a declared output: it replaces only a kerascmp model of its own format."""
    return outputs.Output(
        flag, output, outputs.MODEL, ours=lambda path: is_conversion(path, fmt), what=f"a {fmt} model"
    )


def check_output(output: Path, model_dir: Path, fmt: str) -> None:
    """Refuse, before converting, a target that is not ours to replace (kerascmp.outputs)."""
    if output.suffix != FORMATS[fmt]:
        raise UsageError(f"--output {output}: a {fmt} model's file name must end in {FORMATS[fmt]}")
    outputs.check([output_of(output, fmt)], [outputs.Input("--model", model_dir)])


def convert(model_dir: str | Path, fmt: str, output: str | Path | None = None) -> Conversion:
    """Convert the SavedModel at `model_dir` to `fmt`, check it against the SavedModel, and write it."""
    if fmt not in CONVERTED:
        raise UsageError(f"format {fmt!r}: choose one of {', '.join(CONVERTED)}")
    model_dir = Path(model_dir)
    reference = SavedModelRunner(model_dir)
    output = Path(output) if output else default_output(model_dir, fmt)
    check_output(output, model_dir, fmt)
    fd, staged = tempfile.mkstemp(
        dir=output.parent, prefix=outputs.staging_prefix(output), suffix=output.suffix
    )
    os.close(fd)
    try:
        (_to_onnx if fmt == "onnx" else _to_tflite)(model_dir, Path(staged))
        difference, pairs = _check(reference, open_model(staged))
        if difference > TOLERANCE:
            raise StorageError(
                f"the {fmt} conversion of {model_dir} differs from the SavedModel by {difference:.2g} on "
                f"{pairs} MNIST-test pairs (more than {TOLERANCE:g}); nothing was written"
            )
        size = Path(staged).stat().st_size
        replaced = output.exists()
        publish(staged, output)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return Conversion(output, fmt, size, difference, pairs, replaced)


def _check(reference: SavedModelRunner, converted) -> tuple[float, int]:
    """The largest output difference on the check pairs; a differing verdict counts as infinite."""
    from kerascmp.data import generate_pair_sets

    _, test = generate_pair_sets(CHECK_PAIRS, seed=CHECK_SEED)
    expected, got = reference.run(test.pairs), converted.run(test.pairs)
    if set(expected) != set(got):
        return float("inf"), len(test)
    if not np.array_equal(expected[FIRST_LEQ_SECOND], got[FIRST_LEQ_SECOND]):
        return float("inf"), len(test)
    difference = max(float(np.max(np.abs(expected[k].astype(np.float64) - got[k]))) for k in expected)
    return difference, len(test)


def _serving_function(model_dir: Path):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(model_dir))  # referenced by the function: it owns the variables
    shape, dtype = SIGNATURE_INPUTS[SERVING]
    spec = tf.TensorSpec(shape, dtype, name=SIGNATURE_INPUT)
    return tf.function(lambda pairs: loaded.signatures[SERVING](pairs=pairs)), spec


def _to_onnx(model_dir: Path, path: Path) -> None:
    import tf2onnx

    tf2onnx.logging.set_level(logging.ERROR)
    function, spec = _serving_function(model_dir)
    try:
        tf2onnx.convert.from_function(
            function, input_signature=[spec], opset=ONNX_OPSET, output_path=str(path)
        )
    except OSError:
        raise  # the disk, not the converter: the command's storage boundary says so
    except Exception as err:  # an op tf2onnx cannot convert
        raise StorageError(f"tf2onnx cannot convert {model_dir}: {type(err).__name__}: {err}") from None


def _to_tflite(model_dir: Path, path: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(model_dir), signature_keys=[SERVING])
    try:
        flatbuffer = converter.convert()
    except Exception as err:  # an op the converter cannot lower
        detail = (str(err).strip().splitlines() or [""])[0][:300]
        raise StorageError(f"the TFLite converter cannot convert {model_dir}: {detail}") from None
    path.write_bytes(flatbuffer)
