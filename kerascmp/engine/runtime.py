"""The process's runtime, set in one place: TensorFlow's threads and quiet start-up, deterministic kernels.

`prepare_tensorflow()` makes the settings TensorFlow reads once, when it is imported; every command makes
them first (kerascmp.cli.run_main), before anything imports TensorFlow. `configure_runtime()` then imports
it and asks for deterministic kernels: every command calls it before its first model, and so does the
Python API's `train_runs`. Precision is not process-wide: each run builds and trains under its own
(kerascmp.engine.build.precision_policy), and the default is `kerascmp.defaults.PRECISION`.

Importing this module is free: TensorFlow loads in `configure_runtime()`.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile


def configure_runtime() -> None:
    """Threads (where TensorFlow is not imported yet) and deterministic kernels: with
    `keras.utils.set_random_seed`, the same seed gives the same numbers on the same machine. Idempotent."""
    if "tensorflow" not in sys.modules:
        prepare_tensorflow()
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    logger = tf.get_logger()
    if not any(isinstance(f, _NoRetracingWarnings) for f in logger.filters):
        logger.addFilter(_NoRetracingWarnings())


class _NoRetracingWarnings(logging.Filter):
    """TensorFlow warns when a function traces again; kerascmp traces each new shape of run on purpose (the
    separate variants' stages, packed runs), so the warning says nothing to a user."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def prepare_tensorflow() -> None:
    """Settings TensorFlow reads once, when it starts; every entry point makes them before importing it.

    TensorFlow's C++ start-up banners drown the tools' own output. The study's ops are small: two
    independent branches (digit A and B, or packed runs) side by side, each on half the cores, beat every
    op on all cores (benchmarks/README.md). TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, if set, win.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
    if "TF_NUM_INTRAOP_THREADS" not in os.environ and "TF_NUM_INTEROP_THREADS" not in os.environ:
        os.environ["TF_NUM_INTEROP_THREADS"] = "2"
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(max(1, (os.cpu_count() or 2) // 2))


# What TensorFlow 2.21 writes to file descriptor 2 while it is imported, before TF_CPP_MIN_LOG_LEVEL
# applies (absl's log is not initialised yet): the same two lines on every command.
_START_UP_BANNERS = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\..*"
)


# What LiteRT writes to file descriptor 2 the first time an interpreter runs: the same line every time.
LITERT_BANNER = re.compile(r"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.")


@contextlib.contextmanager
def filtered_stderr(banners: re.Pattern):
    """Run the block with file descriptor 2 (C++ libraries write there) captured, then pass on every line
    but those `banners` matches whole."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if not banners.fullmatch(line):
                    print(line, file=sys.stderr)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Imports TensorFlow, whenever that first happens, with its start-up banners filtered out of stderr;
    anything else it writes there is passed on."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and the real finders do the finding
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec_module(module):
            with filtered_stderr(_START_UP_BANNERS):
                exec_module(module)

        spec.loader.exec_module = quiet_exec_module
        return spec
