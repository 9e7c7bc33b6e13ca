"""What every command-line entry point shares: argument types, clean failure, atomic writes."""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from kerascmp.engine import runtime
from kerascmp.errors import DataError, StorageError, UsageError, VariantError, printable

EXIT_USAGE = 2
EXIT_DIVERGED = 3  # training ran, but a run's weights or outputs became NaN or infinite
EXIT_INTERRUPTED = 130
EXIT_STORAGE = 4  # a result could not be written (disk full, read-only file system); what was kept is said
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM ended
MAX_SEED = 2**32 - 1  # NumPy's and Keras's global seeds must fit in 32 bits


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that cleanup (`finally`, temporary files) runs."""


class _SigtermHandler:
    """Turns SIGTERM into `Terminated`, and remembers it: Python drops an exception raised inside a
    `__del__` or a library may wrap it, and the command must still end as terminated."""

    def __init__(self):
        self.received = False
        if threading.current_thread() is threading.main_thread():  # where Python can take signals
            signal.signal(signal.SIGTERM, self._raise)

    def _raise(self, signum, frame):
        self.received = True
        if frame is None or frame.f_code.co_name != "__del__":  # Python would print and drop it there
            raise Terminated()


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (`| head`); nothing is printed

# What a full, read-only, failing or forbidden disk raises; any command that meets one says so in one line.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES}


def storage_cause(err: BaseException) -> str | None:
    """Why a write failed, when the storage failed it ("No space left on device"): from an OSError, or from
    a TensorFlow error (ResourceExhaustedError on SaveV2), told by its class without importing TensorFlow."""
    if isinstance(err, OSError):
        return err.strerror if err.errno in STORAGE_ERRNOS else None
    if any(kind.__name__ == "OpError" for kind in type(err).__mro__):
        message = str(getattr(err, "message", err))
        causes = [os.strerror(code) for code in STORAGE_ERRNOS if os.strerror(code) in message]
        if causes:
            return causes[0]
        if type(err).__name__ == "ResourceExhaustedError":
            return (message.strip().splitlines() or ["resource exhausted"])[0][:200]
    return None


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but failing with one clean line and exit code 2 (argparse's usage dump hides the cause)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _number(kind: Callable, what: str, ok: Callable[[float], bool]) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            try:
                float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number, {what}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}")
        return value

    return parse


positive_int = _number(int, "an integer >= 1", lambda v: v >= 1)


def bounded_int(high: int) -> Callable[[str], int]:
    return _number(int, f"an integer from 1 to {high:,}", lambda v: 1 <= v <= high)


non_negative_int = _number(int, "an integer >= 0", lambda v: v >= 0)
positive_float = _number(float, "a number > 0", lambda v: v > 0)
c_aux_value = _number(float, "in [0, 0.5]", lambda v: 0 <= v <= 0.5)


def check_seeds(seed: int, rounds: int) -> None:
    """Round r trains from seed + r, and every one must be a valid global seed."""
    if seed + rounds - 1 > MAX_SEED:
        raise UsageError(
            f"--seed {seed} with {rounds} round(s) reaches {seed + rounds - 1}; seeds go up to {MAX_SEED}"
        )


def comma_list(item: Callable[[str], float]) -> Callable[[str], list]:
    """A comma-separated list of `item`s, e.g. --lr 0.01,0.1."""

    def parse(text: str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError("empty list")
        values = [item(p) for p in parts]
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{text!r} repeats a value")
        return values

    return parse


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    from kerascmp import defaults

    parser.add_argument(
        "--precision",
        choices=("float32", "bfloat16"),
        default=defaults.PRECISION,
        help=f"compute precision (default on this machine: {defaults.PRECISION}; bfloat16 where the CPU "
        "computes it natively, else float32: benchmarks/README.md)",
    )


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="tensorflow-datasets data dir holding mnist "
        "(default: $TFDS_DATA_DIR, else the copy bundled in data/tensorflow_datasets)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="let tensorflow-datasets download MNIST into --data-dir if it is missing (needs a network)",
    )


def add_variant_arguments(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    from kerascmp.variants import variant_names

    if several:
        parser.add_argument(
            "--variants",
            default="all",
            help="'all' (the report's six) or a comma list of: "
            f"{', '.join(variant_names())}, or variants a --plugin registers",
        )
    else:
        parser.add_argument(
            "--variant",
            default="main",
            help=f"one of: {', '.join(variant_names())}, or a variant a --plugin registers (default main)",
        )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="a Python file or module that registers variants with kerascmp.register_variant (repeatable)",
    )


def read_inputs(args) -> list:
    """What train, study, search and frontier read besides their own inputs: the MNIST data dir and the
    plugin files (kerascmp.outputs: no output may be one of them, or inside one)."""
    from kerascmp.data.mnist import resolve_data_dir
    from kerascmp.outputs import Input

    plugins = [Input("--plugin", spec) for spec in args.plugin if Path(spec).is_file()]
    return [Input("--data-dir", resolve_data_dir(args.data_dir)), *plugins]


def load_plugins(specs: list[str]) -> None:
    """Import the user's variant plugins; a broken one ends as one line, exit 2."""
    from kerascmp.variants import load_plugin

    for spec in specs:
        try:
            load_plugin(spec)
        except ValueError as err:
            raise UsageError(str(err)) from None


def variant_named(name: str):
    from kerascmp.variants import get_variant

    try:
        return get_variant(name)
    except ValueError as err:
        raise UsageError(str(err)) from None


def run_main(
    main: Callable[[list[str] | None], int | None], argv: list[str] | None = None, resumable: bool = False
) -> None:
    """Run an entry point; expected failures end as one line on stderr and a non-zero exit."""
    runtime.prepare_tensorflow()  # before anything imports TensorFlow
    sigterm = _SigtermHandler()
    try:
        code = main(argv)
    except SystemExit:
        raise
    except BrokenPipeError:
        code = _broken_pipe()
    except BaseException as err:
        code = _exit_code(err, resumable, sigterm.received)
    else:
        if sigterm.received:  # raised where Python dropped it: the work went on, but was asked to stop
            code = _stopped(True, resumable)
    sys.exit(code or 0)


def _exit_code(err: BaseException, resumable: bool, terminated: bool) -> int:
    """One line on stderr for an expected failure, and its exit code; anything else is raised on."""

    if terminated or isinstance(err, (KeyboardInterrupt, Terminated)):
        return _stopped(terminated or isinstance(err, Terminated), resumable)
    if isinstance(err, (UsageError, DataError, VariantError)):
        print(f"error: {printable(err)}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, StorageError):
        print(f"error: {printable(err)}", file=sys.stderr)
        return EXIT_STORAGE
    cause = storage_cause(err)
    if cause is not None:
        where = getattr(err, "filename", None) or "a result"
        print(
            f"error: cannot write {printable(where)} ({cause}); "
            + (
                "what finished before is saved; free space and rerun the same command to resume"
                if resumable
                else "free space or give a writable path, and run it again"
            ),
            file=sys.stderr,
        )
        return EXIT_STORAGE
    raise err


def _broken_pipe() -> int:
    """stdout's reader is gone: end quietly, and keep Python from failing again as it flushes at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def _stopped(terminated: bool, resumable: bool) -> int:
    print(
        ("terminated (SIGTERM)" if terminated else "interrupted")
        + "; what finished is saved"
        + ("; rerun the same command to resume" if resumable else ""),
        file=sys.stderr,
    )
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
