"""A study's files from its rounds: table.csv, table.md, claims.csv, claims.png, learning_curves.png,
comparison.png, each written atomically."""

from __future__ import annotations

from pathlib import Path

from kerascmp.analysis import claims
from kerascmp.analysis.figures import plot_claims, plot_comparison, plot_learning_curves
from kerascmp.analysis.rounds import RoundRecord
from kerascmp.analysis.summaries import summary_table
from kerascmp.analysis.tables import study_markdown, table_csv
from kerascmp.files import atomic_write_text


def write_study_files(rounds: list[RoundRecord], output_dir: Path, title: str) -> None:
    table = summary_table(rounds)
    results = claims.verdicts(rounds)
    atomic_write_text(output_dir / "table.csv", table_csv(table))
    atomic_write_text(output_dir / "table.md", study_markdown(table, results))
    if results:
        atomic_write_text(output_dir / "claims.csv", claims.claims_csv(results))
        plot_claims(results, output_dir / "claims.png", f"The report's claims, paired by round ({title})")
    plot_learning_curves(
        rounds,
        output_dir / "learning_curves.png",
        f"Comparison error per epoch, mean ± std over rounds ({title})",
    )
    plot_comparison(table, output_dir / "comparison.png", f"Test comparison error ({title})")
