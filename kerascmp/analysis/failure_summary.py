"""Where a variant's comparisons fail, from the wrong test pairs each stored round records: by cause (a
misread digit, or both read right) and by digit pair."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from kerascmp.analysis.rounds import RoundRecord
from kerascmp.errors import UsageError


class Failure(NamedTuple):
    """One wrong comparison as stored (kerascmp.engine.scoring.comparison_failures): true and read digits."""

    first: int
    second: int
    first_read: int
    second_read: int


def summarize_failures(rounds: list[RoundRecord], variant: str, top: int = 8) -> str:
    """Markdown: the failures of `variant` over its stored rounds, by cause and by digit pair."""
    mine = [r for r in rounds if r.variant == variant]
    if not mine:
        held = sorted({r.variant for r in rounds})
        raise UsageError(f"the study holds no rounds of {variant}; it holds {', '.join(held) or 'none'}")
    stored = [r for r in mine if r.test_comparison_failures is not None]
    if not stored:
        if all(r.diverged for r in mine):
            raise UsageError(
                f"every stored round of {variant} diverged: a diverged net has no failures to list"
            )
        raise UsageError(
            f"the {len(mine)} stored round(s) of {variant} record no failures (the study that made them did "
            "not store test_comparison_failures); rerun it into a new --output-dir"
        )
    failures = [Failure(*f) for r in stored for f in r.test_comparison_failures]
    pairs = sum(r.pairs for r in stored)
    misread = [f for f in failures if (f.first, f.second) != (f.first_read, f.second_read)]
    close = sum(abs(f.first - f.second) <= 1 for f in failures)
    lines = [
        f"{variant}: {len(failures)} wrong comparisons in {pairs} test pairs ({len(stored)} rounds, "
        f"{100 * len(failures) / pairs:.2f} %).",
        f"- {len(misread)} ({100 * len(misread) / max(1, len(failures)):.0f} %) have a misread digit; the "
        "rest read both digits right (argmax) but put P(a ≤ b) on the wrong side of 1/2.",
        f"- {close} ({100 * close / max(1, len(failures)):.0f} %) compare digits equal or 1 apart, where one "
        "misread flips the answer.",
        "",
        "| first, second digit | wrong comparisons | read as (most often) |",
        "|---|---|---|",
    ]
    by_pair = Counter((f.first, f.second) for f in failures)
    for (a, b), count in by_pair.most_common(top):
        reads = Counter((f.first_read, f.second_read) for f in failures if (f.first, f.second) == (a, b))
        (read_a, read_b), _ = reads.most_common(1)[0]
        lines.append(f"| {a}, {b} | {count} | {read_a}, {read_b} |")
    misread_digits = Counter(
        (true, read)
        for f in misread
        for true, read in ((f.first, f.first_read), (f.second, f.second_read))
        if true != read
    )
    shown = ", ".join(f"{t} read as {r} ({n})" for (t, r), n in misread_digits.most_common(6))
    lines += ["", f"Most frequent misreadings: {shown}."]
    return "\n".join(lines)
