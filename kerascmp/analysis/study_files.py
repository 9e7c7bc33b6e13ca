"""A study's files from its rounds: table.csv, table.md, claims.csv, claims.png, learning_curves.png,
comparison.png, each written atomically; and claims.json, the longer companion study its claims read."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kerascmp.analysis import claims, rounds
from kerascmp.analysis.figures import plot_claims, plot_comparison, plot_learning_curves
from kerascmp.analysis.rounds import RoundRecord
from kerascmp.analysis.summaries import summary_table
from kerascmp.analysis.tables import study_markdown, table_csv
from kerascmp.errors import UsageError
from kerascmp.files import atomic_write_json, atomic_write_text
from kerascmp.names import CLAIMS_FILE, ROUNDS_FILE


def record_longer(output_dir: Path, longer_dir: Path) -> None:
    """Remember the study with more epochs that this study's claims test against (study --longer)."""
    atomic_write_json(
        output_dir / CLAIMS_FILE, {"longer": os.path.relpath(longer_dir, output_dir)}
    )  # portable


def longer_rounds(output_dir: Path) -> list[RoundRecord]:
    """The rounds of the companion study recorded in claims.json; none without one."""
    path = Path(output_dir) / CLAIMS_FILE
    if not path.exists():
        return []
    try:
        longer_dir = Path(output_dir) / json.loads(path.read_text())["longer"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise UsageError(f'{path} is damaged (not {{"longer": DIR}}); correct or delete it') from None
    if not (longer_dir / ROUNDS_FILE).is_file():
        raise UsageError(
            f"{path} names {longer_dir} as the longer study, but it holds no {ROUNDS_FILE}; rerun that study "
            "there, or delete the file to test the claims without it"
        )
    return rounds.load(longer_dir / ROUNDS_FILE)


def study_verdicts(output_dir: Path, stored: list[RoundRecord]) -> list[claims.Verdict]:
    """The claims tested on a study's rounds and on its longer companion's."""
    return claims.verdicts(stored, longer_rounds(output_dir))


def write_study_files(stored: list[RoundRecord], output_dir: Path, title: str) -> int:
    """Write the study's table, claims and figures; how many claims could be tested."""
    table = summary_table(stored)
    results = study_verdicts(output_dir, stored)
    atomic_write_text(output_dir / "table.csv", table_csv(table))
    atomic_write_text(output_dir / "table.md", study_markdown(table, results))
    if results:
        atomic_write_text(output_dir / "claims.csv", claims.claims_csv(results))
        plot_claims(results, output_dir / "claims.png", f"The report's claims, as it states them ({title})")
    plot_learning_curves(
        stored,
        output_dir / "learning_curves.png",
        f"Comparison error per epoch, mean ± std over rounds ({title})",
    )
    plot_comparison(table, output_dir / "comparison.png", f"Test comparison error ({title})")
    return len(results)
