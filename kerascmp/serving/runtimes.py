"""An exported model in the runtime that runs it: the SavedModel in TensorFlow, `.onnx` in ONNX Runtime,
`.tflite` in LiteRT. Each is opened with its kerascmp signature checked, and called the same way:
`run(pairs)` with raw float32 pairs (N, 2, 14, 14) in 0-255, returning the serving outputs as NumPy
arrays keyed by kerascmp.names (p_first_leq_second, first_leq_second, digit1/2_probabilities).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerascmp.engine.runtime import LITERT_BANNER, filtered_stderr
from kerascmp.errors import UsageError
from kerascmp.names import (
    CLASSES,
    DIGIT_OUTPUTS,
    FIRST_LEQ_SECOND,
    FROM_MNIST,
    P_FIRST_LEQ_SECOND,
    SERVING,
    SIGNATURE_INPUT,
    SIGNATURE_INPUTS,
    probabilities_key,
)

FORMATS = {"savedmodel": "", "onnx": ".onnx", "tflite": ".tflite"}  # format: the file suffix it takes
REQUIRED_OUTPUTS = {P_FIRST_LEQ_SECOND, FIRST_LEQ_SECOND}
# Each serving output's shape after the batch dimension (kerascmp.serving.export.serving_outputs).
OUTPUT_SHAPES = {
    P_FIRST_LEQ_SECOND: (),
    FIRST_LEQ_SECOND: (),
    **{probabilities_key(name): (CLASSES[name],) for name in DIGIT_OUTPUTS},
}
EXPORT_HINT = "export one with python -m kerascmp.train, or convert one with python -m kerascmp.export"


def format_of(path: str | Path) -> str:
    """The format a model path holds, from its suffix: a directory is a SavedModel."""
    suffix = Path(path).suffix
    return next((name for name, ending in FORMATS.items() if ending and suffix == ending), "savedmodel")


def open_model(path: str | Path):
    """The model at `path` in its runtime, or a UsageError saying why it is not a kerascmp export."""
    path = Path(path)
    kind = format_of(path)
    if kind != "savedmodel" and not path.is_file():
        raise UsageError(f"{path} is not a file; {EXPORT_HINT}")
    return {"savedmodel": SavedModelRunner, "onnx": OnnxRunner, "tflite": LiteRTRunner}[kind](path)


def _not_ours(path: Path, found: str) -> UsageError:
    shape, dtype = SIGNATURE_INPUTS[SERVING]
    return UsageError(f"{path} {found}, not kerascmp's pairs {shape} {dtype}; it is not a kerascmp export")


def _check_outputs(path: Path, shapes: dict) -> None:
    """kerascmp's outputs, each of its rank and size after the batch (an unknown size, None, passes)."""
    absent = REQUIRED_OUTPUTS - set(shapes)
    if absent:
        raise UsageError(f"{path} has no {', '.join(sorted(absent))} output; it is not a kerascmp export")
    for name, shape in shapes.items():
        expected = OUTPUT_SHAPES.get(name)
        sizes = [None if not isinstance(size, int) or size < 0 else size for size in shape]
        if expected is not None and (
            len(sizes) != 1 + len(expected) or any(s not in (None, e) for s, e in zip(sizes[1:], expected))
        ):
            wanted = "[batch" + "".join(f", {e}" for e in expected) + "]"
            raise UsageError(
                f"{path}: output {name} has shape {list(shape)}, not {wanted}; it is not a kerascmp export"
            )


def check_savedmodel_dir(path: Path) -> None:
    """A cheap first check, before TensorFlow loads: `path` holds a saved_model.pb."""
    if not (Path(path) / "saved_model.pb").is_file():
        raise UsageError(f"{path} is not a SavedModel directory (no saved_model.pb); {EXPORT_HINT}")


class SavedModelRunner:
    """A kerascmp SavedModel: both signatures checked; uint8 28x28 pairs go through `from_mnist`."""

    def __init__(self, path: Path):
        check_savedmodel_dir(path)
        import tensorflow as tf

        try:
            self.model = tf.saved_model.load(str(path))
        except Exception as err:  # TF raises several types for a damaged SavedModel
            detail = (str(err).strip().splitlines() or [""])[0][:200]
            raise UsageError(
                f"cannot load the SavedModel in {path} ({type(err).__name__}: {detail}); export it again"
            ) from None
        missing = [s for s in SIGNATURE_INPUTS if s not in self.model.signatures]
        if missing:
            raise UsageError(
                f"{path} lacks the kerascmp signature(s) {', '.join(missing)}; "
                "re-export it with python -m kerascmp.train"
            )
        for name, (shape, dtype) in SIGNATURE_INPUTS.items():
            signature = self.model.signatures[name]
            _, inputs = signature.structured_input_signature
            spec = inputs.get(SIGNATURE_INPUT)
            if len(inputs) != 1 or spec is None or tuple(spec.shape) != shape or spec.dtype.name != dtype:
                found = ", ".join(f"{k} {tuple(v.shape)} {v.dtype.name}" for k, v in inputs.items())
                raise UsageError(
                    f"{path}: signature {name} takes {found or 'nothing'}, not kerascmp's pairs "
                    f"{shape} {dtype}; it is not a kerascmp export"
                )
            absent = REQUIRED_OUTPUTS - set(signature.structured_outputs)
            if absent:
                raise UsageError(
                    f"{path}: signature {name} has no {', '.join(sorted(absent))} output; it is not a "
                    "kerascmp export"
                )

    def run(self, pairs: np.ndarray) -> dict[str, np.ndarray]:
        import tensorflow as tf

        return {k: v.numpy() for k, v in self.model.signatures[SERVING](pairs=tf.constant(pairs)).items()}

    def run_mnist(self, pairs: np.ndarray) -> dict[str, np.ndarray]:
        """uint8 (N, 2, 28, 28) pairs, pooled in the graph."""
        import tensorflow as tf

        outputs = self.model.signatures[FROM_MNIST](pairs=tf.constant(pairs))
        return {k: v.numpy() for k, v in outputs.items()}


class OnnxRunner:
    """A kerascmp `.onnx` model (tf2onnx's conversion of serving_default) in ONNX Runtime, on the CPU."""

    def __init__(self, path: Path):
        import onnxruntime

        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:  # ONNX Runtime raises its own types for a damaged file
            detail = (str(err).strip().splitlines() or [""])[0][:200]
            raise UsageError(f"cannot load {path} in ONNX Runtime ({detail}); convert it again") from None
        inputs = self.session.get_inputs()
        if (
            len(inputs) != 1
            or inputs[0].name != SIGNATURE_INPUT
            or inputs[0].type != "tensor(float)"
            or list(inputs[0].shape[1:]) != list(SIGNATURE_INPUTS[SERVING][0][1:])
        ):
            raise _not_ours(path, "takes " + ", ".join(f"{i.name} {i.shape} {i.type}" for i in inputs))
        self.outputs = [output.name for output in self.session.get_outputs()]
        _check_outputs(path, {output.name: output.shape for output in self.session.get_outputs()})

    def run(self, pairs: np.ndarray) -> dict[str, np.ndarray]:
        values = self.session.run(self.outputs, {SIGNATURE_INPUT: np.asarray(pairs, np.float32)})
        return dict(zip(self.outputs, values))


class LiteRTRunner:
    """A kerascmp `.tflite` model (the TFLite converter's serving_default) in LiteRT (ai-edge-litert)."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        try:
            with filtered_stderr(LITERT_BANNER):
                self.interpreter = Interpreter(model_path=str(path))
            signatures = self.interpreter.get_signature_list()
        except Exception as err:  # LiteRT raises ValueError or RuntimeError for a damaged file
            detail = (str(err).strip().splitlines() or [""])[0][:200]
            raise UsageError(f"cannot load {path} in LiteRT ({detail}); convert it again") from None
        signature = signatures.get(SERVING)
        if signature is None or signature["inputs"] != [SIGNATURE_INPUT]:
            raise _not_ours(path, f"has signatures {signatures}")
        self.runner = self.interpreter.get_signature_runner(SERVING)
        details = self.runner.get_output_details()
        _check_outputs(path, {name: [int(s) for s in d["shape_signature"]] for name, d in details.items()})

    def run(self, pairs: np.ndarray) -> dict[str, np.ndarray]:
        with filtered_stderr(LITERT_BANNER):  # LiteRT's delegate announces itself on the first run
            results = self.runner(pairs=np.asarray(pairs, np.float32))
        return {k: np.array(v) for k, v in results.items()}
