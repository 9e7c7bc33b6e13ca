"""Train one variant of the study: `python -m kerascmp.train --variant noise_removal`.

Each round draws fresh pairs and a fresh initialisation from seed + round, trains with the study's
protocol (SGD, batch 100, 50 epochs), prints train and test error rates, and exports the first round's
model to `<output-dir>/<variant>/` (SavedModel) and `<output-dir>/<variant>.keras`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from kerascmp import cli, defaults
from kerascmp.data import generate_pair_sets, max_pairs
from kerascmp.models import VARIANT_NAMES, get_variant

ERROR_KEYS = tuple(f"{s}_{o}" for s in ("train", "test") for o in ("digit1", "digit2", "comparison"))


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.train", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="main", help=f"one of: {', '.join(VARIANT_NAMES)} (default main)")
    parser.add_argument("--lr", type=cli.positive_float, help="SGD learning rate (default: the variant's, "
                        "see kerascmp/defaults.py)")
    parser.add_argument("--c-aux", type=cli.c_aux_value, help="auxiliary digit-loss weight c in [0, 0.5]: "
                        "L = c*L_d1 + c*L_d2 + (1-2c)*L_cmp (default: the variant's)")
    parser.add_argument("--epochs", type=cli.positive_int, default=defaults.EPOCHS)
    parser.add_argument("--batch-size", type=cli.positive_int, default=defaults.BATCH_SIZE)
    parser.add_argument("--pairs", type=cli.positive_int, default=defaults.PAIRS,
                        help=f"training and test pairs per round (at most {max_pairs('test')})")
    parser.add_argument("--rounds", type=cli.positive_int, default=1)
    parser.add_argument("--seed", type=cli.non_negative_int, default=0, help="round r uses seed + r")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default=defaults.PRECISION,
                        help=f"compute precision (default {defaults.PRECISION}; see benchmarks/README.md)")
    parser.add_argument("--paper-relu", action="store_true", help="keep the report's ReLU on the comparison logits")
    cli.add_data_arguments(parser)
    parser.add_argument("--output-dir", default="saved_models", help="where exports go (default saved_models)")
    parser.add_argument("--no-export", action="store_true", help="do not write the SavedModel and .keras file")
    parser.add_argument("--results-json", help="write every round's numbers and the summary to this file")
    return parser


def parse_args(argv: list[str] | None = None):
    args = build_parser().parse_args(argv)
    try:
        get_variant(args.variant)
    except ValueError as err:
        raise cli.UsageError(str(err)) from None
    if args.pairs > max_pairs("test"):
        raise cli.UsageError(f"--pairs {args.pairs}: MNIST-test gives at most {max_pairs('test')} disjoint pairs")
    if args.c_aux is not None and not get_variant(args.variant).uses_c_aux:
        print(f"note: --c-aux has no effect on {args.variant} (its loss has no auxiliary digit terms)")
    return args


def format_errors(errors: dict) -> str:
    def cell(key):
        value = errors.get(key)
        return "  –  " if value is None else f"{value:5.2f}"

    return "  ".join(f"{s}: d1 {cell(s + '_digit1')} d2 {cell(s + '_digit2')} cmp {cell(s + '_comparison')}"
                     for s in ("train", "test"))


def summary_of(rounds: list[dict]) -> dict[str, dict[str, float | None]]:
    from kerascmp.training import summarize

    summary = {}
    for key in ERROR_KEYS:
        mean, std = summarize([r["errors"][key] for r in rounds])
        summary[key] = {"mean": mean, "std": std}
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.results_json and Path(args.results_json).is_dir():
        raise cli.UsageError(f"--results-json {args.results_json} is a directory; give a file path")

    from kerascmp import export, training  # TensorFlow loads here, after the arguments are known good

    hparams = training.Hyperparameters.for_variant(
        args.variant, learning_rate=args.lr, c_aux=args.c_aux, epochs=args.epochs, batch_size=args.batch_size,
        paper_relu=args.paper_relu, precision=args.precision)
    print(f"{args.variant}: {get_variant(args.variant).description}")
    print(f"lr {hparams.learning_rate:g}, c_aux {hparams.c_aux:g}, {hparams.epochs} epochs, batch "
          f"{hparams.batch_size}, {args.pairs} pairs, {args.rounds} round(s) from seed {args.seed}, {hparams.precision}")

    results = {"variant": args.variant, "hyperparameters": dataclasses.asdict(hparams), "pairs": args.pairs,
               "seed": args.seed, "rounds": [], "packages": export.package_versions()}
    for r in range(args.rounds):
        seed = args.seed + r
        train_pairs, test_pairs = generate_pair_sets(args.pairs, seed, args.data_dir, args.download)
        run = training.Run(args.variant, seed, hparams, train_pairs, {"test": test_pairs})
        training.train_runs([run], label=f"round {r + 1}/{args.rounds} (seed {seed})")
        print(f"round {r + 1}/{args.rounds}  {format_errors(run.errors)}  [{run.wall_s:.1f} s]", flush=True)
        results["rounds"].append({"round": r + 1, "seed": seed, "errors": run.errors, "wall_s": run.wall_s})
        results["summary"] = summary_of(results["rounds"])
        if args.results_json:  # after every round, so an interrupted run keeps what it finished
            cli.atomic_write_json(args.results_json, results)
        if r == 0 and not args.no_export:
            target = Path(args.output_dir) / args.variant
            export.export_model(run.model, target, export.run_metadata(run))
            print(f"exported {target}/ (SavedModel) and {target.with_suffix('.keras')}")

    if args.rounds > 1:
        summary = results["summary"]
        print(f"mean ± std over {args.rounds} rounds (error %):")
        for key in ERROR_KEYS:
            stats = summary[key]
            if stats["mean"] is not None:
                print(f"  {key:18s} {stats['mean']:6.2f} ± {stats['std']:.2f}")
    if args.results_json:
        print(f"results written to {args.results_json}")
    return 0


if __name__ == "__main__":
    cli.run_main(main)
