"""What every command-line entry point shares: argument types, clean failure, atomic writes."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

EXIT_USAGE = 2
EXIT_DIVERGED = 3  # training ran, but a run's weights or outputs became NaN or infinite
EXIT_INTERRUPTED = 130
MAX_SEED = 2**32 - 1  # NumPy's and Keras's global seeds must fit in 32 bits


def prepare_tensorflow() -> None:
    """Settings TensorFlow reads once, when it starts; every entry point makes them before importing it.

    TensorFlow's C++ start-up banners drown the tools' own output. The study's ops are small: two
    independent branches (digit A and B, or packed runs) side by side, each on half the cores, beat every
    op on all cores (benchmarks/README.md). TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, if set, win.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "TF_NUM_INTRAOP_THREADS" not in os.environ and "TF_NUM_INTEROP_THREADS" not in os.environ:
        os.environ["TF_NUM_INTEROP_THREADS"] = "2"
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(max(1, (os.cpu_count() or 2) // 2))


class UsageError(Exception):
    """A bad input from the user: reported as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but failing with one clean line and exit code 2 (argparse's usage dump hides the cause)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _number(kind: Callable, what: str, ok: Callable[[float], bool]) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number, {what}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}")
        return value

    return parse


positive_int = _number(int, "an integer >= 1", lambda v: v >= 1)
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
    from kerascmp.data import DataError

    prepare_tensorflow()
    try:
        code = main(argv)
    except (UsageError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "interrupted; what finished is saved"
            + ("; rerun the same command to resume" if resumable else ""),
            file=sys.stderr,
        )
        code = EXIT_INTERRUPTED
    sys.exit(code or 0)
