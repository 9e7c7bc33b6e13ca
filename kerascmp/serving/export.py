"""Export contract: a self-contained SavedModel per variant, with explicit, documented signatures.

`saved_models/<variant>/` (SavedModel):
  serving_default(pairs: float32 [batch, 2, 14, 14], raw pixels 0-255) ->
      p_first_leq_second: float32 [batch]     P(first digit <= second digit)
      first_leq_second:   int32 [batch]       1 if p_first_leq_second >= 0.5 else 0
      digit1_probabilities, digit2_probabilities: float32 [batch, 10]   (variants with digit heads)
  from_mnist(pairs: uint8 [batch, 2, 28, 28]) -> the same outputs; the 2x2 pooling runs in the graph.
`saved_models/<variant>/kerascmp.json`: variant, hyperparameters, seed, test errors, package versions.
`saved_models/<variant>.keras`: the Keras model, for further training.
"""

from __future__ import annotations

import ctypes
import dataclasses
import importlib.metadata
import json
import math
import platform
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from kerascmp.data import pool_2x2
from kerascmp.engine.build import float32_copy, precision_of
from kerascmp.errors import UsageError, printable
from kerascmp.files import atomic_write_json, publish
from kerascmp.names import (
    COMPARISON,
    DIGIT_OUTPUTS,
    EXPORT_MANIFEST_KEY,
    EXPORT_METADATA_FILE,
    FIRST_LEQ_SECOND,
    FROM_MNIST,
    P_FIRST_LEQ_SECOND,
    SERVING,
    SIGNATURE_INPUT,
    SIGNATURE_INPUTS,
    probabilities_key,
)
from kerascmp.outputs import files_under, manifest_of, refuse_foreign_export_files, staging_prefix

PACKAGES = ("tensorflow-cpu", "keras", "keras-tuner", "tensorflow-datasets", "numpy")
METADATA_FILE = EXPORT_METADATA_FILE


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def serving_outputs(model: keras.Model, pairs: tf.Tensor) -> dict[str, tf.Tensor]:
    """The exported outputs, from raw float32 pairs."""
    logits = model(pairs, training=False)
    p_leq = tf.nn.softmax(tf.cast(logits[COMPARISON], tf.float32))[:, 1]  # class 1: first <= second
    outputs = {P_FIRST_LEQ_SECOND: p_leq, FIRST_LEQ_SECOND: tf.cast(p_leq >= 0.5, tf.int32)}
    for name in DIGIT_OUTPUTS:
        if name in logits:
            outputs[probabilities_key(name)] = tf.nn.softmax(tf.cast(logits[name], tf.float32))
    return outputs


def _input_spec(signature: str) -> tf.TensorSpec:
    shape, dtype = SIGNATURE_INPUTS[signature]
    return tf.TensorSpec(list(shape), tf.as_dtype(dtype), name=SIGNATURE_INPUT)


def export_model(model: keras.Model, directory: str | Path, metadata: dict) -> str | None:
    """Write the SavedModel (both signatures), kerascmp.json, and `<directory>.keras`, each atomically.

    The SavedModel computes in float32 whatever precision trained the model (`float32_copy`: the model
    the error rates were scored on), so it converts to ONNX and LiteRT. Returns a description of the
    export it replaced, if any. The `.keras` file is the model as trained, saved compiled with the loss
    and optimiser the run trained with, so that it loads ready for further training.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    served = float32_copy(model)
    precisions = {"training_precision": precision_of(model), "serving_precision": "float32"}

    archive = keras.export.ExportArchive()
    archive.track(served)
    archive.add_endpoint(
        name=SERVING,
        fn=lambda pairs: serving_outputs(served, pairs),
        input_signature=[_input_spec(SERVING)],
    )
    archive.add_endpoint(
        name=FROM_MNIST,
        fn=lambda pairs: serving_outputs(served, pool_2x2(pairs)),
        input_signature=[_input_spec(FROM_MNIST)],
    )
    # Write beside the target and swap in, so an interrupted export never leaves half a SavedModel.
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=staging_prefix(directory)))
    try:
        archive.write_out(str(staging / "model"), verbose=False)
        manifest = sorted([*files_under(staging / "model"), METADATA_FILE])  # what a later export may replace
        atomic_write_json(
            staging / "model" / METADATA_FILE,
            {**metadata, **precisions, "packages": package_versions(), EXPORT_MANIFEST_KEY: manifest},
        )
        keras_file = staging / "model.keras"
        _compiled_as_trained(model, metadata).save(keras_file)
        check_export_target(directory)
        replaced = _describe_export(directory) if directory.exists() else None
        _swap_in(staging / "model", directory)
        try:
            publish(keras_file, directory.with_suffix(".keras"))
        except BaseException:
            previous = [p for p in (staging / "model", staging / "model.previous") if p.exists()]
            if previous:  # the swap left the previous export in staging: put it back
                _swap_in(previous[0], directory)
            else:
                shutil.rmtree(directory, ignore_errors=True)  # none before: no SavedModel without .keras
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return replaced


def check_export_target(directory: str | Path, flag: str = "--output-dir") -> None:
    """Refuse, before any training, to replace what a kerascmp export did not write: `directory` must be
    absent, empty, or an export holding only the files of its manifest; `<directory>.keras` absent or a file
    beside one (kerascmp.outputs)."""
    directory = Path(directory)
    keras_file = directory.with_suffix(".keras")
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise UsageError(f"{directory} exists and is not an export directory; move it, or use another {flag}")
    refuse_foreign_export_files(directory, flag)
    if keras_file.is_symlink() or keras_file.is_dir() or (keras_file.exists() and not keras_file.is_file()):
        raise UsageError(f"{keras_file} is not a file kerascmp wrote; move it, or use another {flag}")
    if keras_file.exists() and manifest_of(directory) is None:
        raise UsageError(
            f"{keras_file} exists with no kerascmp export beside it; move it, or use another {flag}"
        )


def _swap_in(new: Path, directory: Path) -> None:
    """Put the directory `new` at `directory` so that, whenever the process dies, `directory` holds either
    the previous export or the new one, whole: Linux swaps the two atomically (renameat2 RENAME_EXCHANGE);
    elsewhere two renames leave a gap of microseconds."""
    if not directory.exists():
        new.rename(directory)
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, rename_exchange = -100, 2
        if libc.renameat2(at_fdcwd, bytes(new), at_fdcwd, bytes(directory), rename_exchange) == 0:
            return  # `new` now holds the previous export, removed with the staging dir
    except (AttributeError, OSError):
        pass
    old = new.with_name(new.name + ".previous")
    directory.rename(old)
    new.rename(directory)


def _describe_export(directory: Path) -> str | None:
    try:
        meta = json.loads((directory / METADATA_FILE).read_text())
        described = (
            f"{meta['variant']} (seed {meta['seed']}, lr {meta['hyperparameters']['learning_rate']:g})"
        )
        return printable(described)  # the file may have been edited: no escape codes reach the terminal
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _compiled_as_trained(model: keras.Model, metadata: dict) -> keras.Model:
    """The model compiled with its variant's optimiser and loss, as `kerascmp.engine.runs` trained it."""
    from kerascmp.engine.compile import loss_weights_for, optimizer_for
    from kerascmp.variants import get_variant

    try:
        variant = get_variant(metadata["variant"])
    except (KeyError, ValueError):
        return model
    hparams = metadata["hyperparameters"]
    model.compile(
        optimizer=optimizer_for(
            variant,
            hparams["learning_rate"],
            hparams["epochs"] * math.ceil(metadata["pairs"] / hparams["batch_size"]),
        ),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in model.output},
        loss_weights={
            name: loss_weights_for(variant, hparams["c_aux"]).get(name, 0.0) for name in model.output
        },
    )
    return model


def run_metadata(result) -> dict:
    """kerascmp.json content for a trained run (a `kerascmp.engine.specs.RunResult`)."""
    return {
        "variant": result.spec.variant,
        "hyperparameters": dataclasses.asdict(result.spec.hparams),
        "seed": result.spec.seed,
        "pairs": len(result.spec.train),
        "errors_percent": result.errors,
        "inputs": {
            SERVING: "pairs float32 [batch, 2, 14, 14], raw pixels 0-255",
            FROM_MNIST: "pairs uint8 [batch, 2, 28, 28]",
        },
    }
