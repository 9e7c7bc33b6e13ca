"""Where a variant's comparisons fail: `python -m kerascmp.failures results/beyond2 --variant best`.

Reads the test pairs each round compared wrongly (`test_comparison_failures` in a study's rounds.jsonl)
and prints, as markdown (kerascmp.analysis.failure_summary), how many failures came from a misread
digit, and which digit pairs fail most. It needs neither TensorFlow nor Keras.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kerascmp import cli, outputs
from kerascmp.analysis import rounds
from kerascmp.analysis.failure_summary import summarize_failures
from kerascmp.names import ROUNDS_FILE


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.failures", description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", help="a study's --output-dir (holds rounds.jsonl)")
    parser.add_argument("--variant", required=True, help="the variant whose failures to list")
    return parser


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """It writes nothing but its report on stdout (kerascmp.outputs)."""
    return [], [outputs.Input("STUDY_DIR", args.study_dir)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    path = Path(args.study_dir) / ROUNDS_FILE
    if not path.is_file():
        raise cli.UsageError(f"{path}: no such file; pass a study's --output-dir")
    print(summarize_failures(rounds.load(path), args.variant))
    return 0


if __name__ == "__main__":
    cli.run_main(main)
