"""The accuracy-cost frontier of committed studies: `python -m kerascmp.frontier results results/beyond
results/beyond2 --output-dir results/beyond2`.

Every variant of the studies given is a point: its mean test comparison error over the study's rounds
against the CPU-seconds one round's training takes (process CPU time, every thread; not wall time, which
depends on what else the machine runs). Newer rounds record `cpu_s`; for a variant whose
rounds lack it, round 0 is trained again here, once, from its stored seed, pairs and hyperparameters, and
its cost kept in <output-dir>/training_cost.json, so a rerun trains nothing. Costs measured in different
hours are not comparable on a host whose speed drifts: `--remeasure-all` trains round 0 of every variant
again, so that all costs come from one sitting. Writes frontier.csv,
frontier.md and frontier.png (both axes log-scale).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from kerascmp import cli, files, outputs
from kerascmp.analysis import frontier, rounds
from kerascmp.engine import runtime
from kerascmp.names import COMPARISON, ROUNDS_FILE, TEST, error_key

COSTS_FILE = "training_cost.json"
CSV_FILE, MARKDOWN_FILE, FIGURE_FILE = "frontier.csv", "frontier.md", "frontier.png"


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.frontier", description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", help="study directories (each holds rounds.jsonl); a variant "
                        "in several is taken from the first")  # fmt: skip
    parser.add_argument("--output-dir", required=True, help="where frontier.* and training_cost.json go")
    parser.add_argument("--remeasure-all", action="store_true",
                        help="time every variant's round 0 again, not only those whose rounds lack cpu_s, "
                        "so that all costs come from one sitting (costs already in training_cost.json are "
                        "kept: delete it to start a new sitting)")  # fmt: skip
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE_OR_MODULE",
                        help="registers a plugin's variants, to re-measure their cost")  # fmt: skip
    cli.add_data_arguments(parser)
    return parser


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """Where the frontier and the costs go (kerascmp.outputs): a study's directory may hold them."""
    return [outputs.Output("--output-dir", args.output_dir, outputs.DIRECTORY)], [
        *(outputs.Input("STUDY", study, holds_outputs=True) for study in args.studies),
        *cli.read_inputs(args),
    ]


def load_studies(paths: list[str]) -> dict[str, list[rounds.RoundRecord]]:
    studies = {}
    for path in paths:
        rounds_path = Path(path) / ROUNDS_FILE
        if not rounds_path.is_file():
            raise cli.UsageError(f"{rounds_path}: no such file; pass studies' --output-dir")
        studies[path.rstrip("/")] = rounds.load(rounds_path)
    return studies


def load_costs(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        costs = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise cli.UsageError(f"{path} is damaged (not JSON); delete it to measure the costs again") from None
    if not isinstance(costs, dict) or not all(isinstance(c, dict) and "cpu_s" in c for c in costs.values()):
        raise cli.UsageError(f"{path} is not a costs file; delete it to measure the costs again")
    return costs


def remeasure(record: rounds.RoundRecord, study: str, data_dir, download: bool) -> dict:
    """Train `record`'s round again as its study did, and time it."""
    from kerascmp.data import generate_pair_sets
    from kerascmp.engine.machine import machine_name
    from kerascmp.engine.runs import train_runs
    from kerascmp.engine.specs import RunSpec
    from kerascmp.variants import Hyperparameters

    train, test = generate_pair_sets(record.pairs, record.data_seed, data_dir, download)
    spec = RunSpec(
        record.variant,
        record.seed,
        Hyperparameters(**record.hyperparameters),
        train,
        {TEST: test},
        monitor=test,
    )
    (result,) = train_runs([spec], validation_freq=record.history_val_every, label=record.variant)
    key = error_key(TEST, COMPARISON)
    return {
        "cpu_s": round(result.cpu_s, 1),
        "wall_s": round(result.wall_s, 1),
        "study": study,
        "round": record.round,
        "test_comparison": result.errors[key],
        "study_test_comparison": record.errors.get(key),  # equal: the same training, bit for bit
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_name(),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = files.CommandRecord.start("kerascmp.frontier", argv)
    args = build_parser().parse_args(argv)
    cli.load_plugins(args.plugin)
    studies = load_studies(args.studies)
    output_dir = Path(args.output_dir)
    outputs.check(*declared_outputs(args))
    costs_path = output_dir / COSTS_FILE
    costs = load_costs(costs_path)
    missing, seen = {}, set()  # variant: (study, its round-0 record), where its point's rounds lack cpu_s
    for study, stored in studies.items():
        for name in dict.fromkeys(r.variant for r in stored):
            if name in seen:  # its point comes from the first study that holds it (frontier.points)
                continue
            seen.add(name)
            mine = [r for r in stored if r.variant == name]
            if name not in costs and frontier.measured_again(mine, args.remeasure_all):
                missing[name] = (study, min(mine, key=lambda r: r.round))
    if missing:
        runtime.configure_runtime()
        for variant in missing:
            cli.variant_named(variant)  # refused before any training if a plugin is missing
    for k, (name, (study, record)) in enumerate(missing.items(), start=1):
        print(
            f"[{k}/{len(missing)}] {name}: training round {record.round} of {study} again to time it",
            flush=True,
        )
        costs[name] = remeasure(record, study, args.data_dir, args.download)
        files.atomic_write_json(costs_path, costs)  # kept as each finishes: an interrupted run resumes
        print(f"  {costs[name]['cpu_s']:.0f} CPU-s ({costs[name]['wall_s']:.0f} s wall)", flush=True)

    measured = {name: c["cpu_s"] for name, c in costs.items()}
    all_points = frontier.points(studies, measured, all_remeasured=args.remeasure_all)
    from kerascmp.analysis.figures import plot_frontier

    files.atomic_write_text(output_dir / CSV_FILE, frontier.frontier_csv(all_points))
    files.atomic_write_text(output_dir / MARKDOWN_FILE, frontier.frontier_markdown(all_points))
    plot_frontier(
        all_points, output_dir / FIGURE_FILE, "Test comparison error against training cost per round"
    )
    print(frontier.frontier_markdown(all_points), end="")
    print(f"written to {output_dir}/{CSV_FILE}, {MARKDOWN_FILE} and {FIGURE_FILE}")
    command.append_to(output_dir)
    return 0


if __name__ == "__main__":
    cli.run_main(main, resumable=True)
