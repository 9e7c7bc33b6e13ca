"""Train one variant of the study: `python -m kerascmp.train --variant noise_removal`.

Each round draws fresh pairs and a fresh initialisation from seed + round, trains with the variant's
protocol (the report's: SGD, batch 100, 50 epochs), prints train and test error rates, and exports the
first round's model to `<output-dir>/<variant>/` (SavedModel) and `<output-dir>/<variant>.keras`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from kerascmp import cli, defaults, files, outputs, seeds
from kerascmp.data import max_pairs
from kerascmp.engine import runtime
from kerascmp.names import PAIR_OUTPUTS, TEST, TRAIN, error_key

DIVERGED = "DIVERGED: weights or outputs became NaN or infinite"
ERROR_KEYS = tuple(error_key(split, output) for split in (TRAIN, TEST) for output in PAIR_OUTPUTS)


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.train", description=__doc__.splitlines()[0])
    cli.add_variant_arguments(parser)
    parser.add_argument(
        "--lr",
        type=cli.positive_float,
        help="learning rate (default: the variant's, see kerascmp/variants/)",
    )
    parser.add_argument(
        "--c-aux",
        type=cli.c_aux_value,
        help="auxiliary digit-loss weight c in [0, 0.5]: "
        "L = c*L_d1 + c*L_d2 + (1-2c)*L_cmp (default: the variant's)",
    )
    parser.add_argument(
        "--epochs",
        type=cli.bounded_int(defaults.MAX_EPOCHS),
        help="default: the variant's (the report's: 50)",
    )
    parser.add_argument(
        "--batch-size",
        type=cli.bounded_int(defaults.MAX_BATCH_SIZE),
        help="default: the variant's (the report's: 100)",
    )
    parser.add_argument(
        "--pairs",
        type=cli.positive_int,
        default=defaults.PAIRS,
        help=f"training and test pairs per round (at most {max_pairs('test')})",
    )
    parser.add_argument(
        "--rounds",
        type=cli.bounded_int(defaults.MAX_ROUNDS),
        default=1,
        help="rounds, round r from seed + r (default 1)",
    )
    parser.add_argument("--seed", type=cli.non_negative_int, default=0, help="round r uses seed + r")
    cli.add_precision_argument(parser)
    cli.add_data_arguments(parser)
    parser.add_argument(
        "--output-dir", default="saved_models", help="where exports go (default saved_models)"
    )
    parser.add_argument(
        "--no-export", action="store_true", help="do not write the SavedModel and .keras file"
    )
    parser.add_argument(
        "--export-formats",
        type=export_formats,
        metavar="LIST",
        help="comma list of savedmodel, onnx, tflite (default savedmodel; the SavedModel is always "
        "written, and the others are converted from it and checked against it)",
    )
    parser.add_argument("--results-json", help="write every round's numbers and the summary to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars: one line per round")
    parser.add_argument(
        "--tensorboard", metavar="DIR", help="TensorBoard logs, one run per round: DIR/<variant>/round_01"
    )
    return parser


def export_formats(text: str) -> tuple[str, ...]:
    from kerascmp.serving.runtimes import FORMATS

    formats = tuple(dict.fromkeys(f.strip() for f in text.split(",")))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"{text!r}: give a comma list of {', '.join(FORMATS)}")
    return formats


def parse_args(argv: list[str] | None = None):
    args = build_parser().parse_args(argv)
    if args.pairs > max_pairs("test"):
        raise cli.UsageError(
            f"--pairs {args.pairs}: MNIST-test gives at most {max_pairs('test')} disjoint pairs"
        )
    cli.check_seeds(args.seed, args.rounds)
    if args.no_export and args.export_formats:
        raise cli.UsageError("--export-formats with --no-export: nothing would be exported; drop one of them")
    args.export_formats = args.export_formats or ("savedmodel",)
    cli.load_plugins(args.plugin)
    variant = cli.variant_named(args.variant)
    # Every output is checked now, together, not after the training it would hold.
    outputs.check(*declared_outputs(args))
    if not args.no_export:
        from kerascmp.serving.export import check_export_target

        check_export_target(Path(args.output_dir) / variant.name)
    if args.c_aux is not None and not variant.uses_c_aux:
        print(f"note: --c-aux has no effect on {args.variant} (its loss has no auxiliary digit terms)")
    return args


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """Every path this command writes (kerascmp.outputs), and what it reads."""
    declared = [
        outputs.Output(
            "--results-json", args.results_json, ours=is_results_json, what="a --results-json file"
        ),
        outputs.Output("--tensorboard", args.tensorboard, outputs.DIRECTORY),
    ]
    if not args.no_export:
        from kerascmp.serving.convert import CONVERTED, default_output, output_of

        target = Path(args.output_dir) / args.variant
        declared += [
            outputs.Output("--output-dir", args.output_dir, outputs.DIRECTORY),
            outputs.Output("--output-dir", target, outputs.EXPORT),
            *(
                output_of(default_output(target, fmt), fmt, "--output-dir")
                for fmt in args.export_formats or ()
                if fmt in CONVERTED
            ),
        ]
    return declared, cli.read_inputs(args)


def is_results_json(path: Path) -> bool:
    """Whether `path` holds what --results-json writes."""
    try:
        if path.stat().st_size > 100 * 2**20:
            return False
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(results, dict) and {"variant", "hyperparameters", "rounds"} <= set(results)


def format_errors(errors: dict) -> str:
    def cell(split, output):
        value = errors.get(error_key(split, output))
        return "  –  " if value is None else f"{value:5.2f}"

    return "  ".join(
        f"{split}: d1 {cell(split, PAIR_OUTPUTS[0])} d2 {cell(split, PAIR_OUTPUTS[1])} "
        f"cmp {cell(split, PAIR_OUTPUTS[2])}"
        for split in (TRAIN, TEST)
    )


def summary_of(rounds: list[dict]) -> dict[str, dict[str, float | None]]:
    from kerascmp.analysis.summaries import summarize

    summary = {}
    for key in ERROR_KEYS:
        mean, std = summarize([r["errors"][key] for r in rounds])
        summary[key] = {"mean": mean, "std": std}
    return summary


def export_first_round(result, target: Path, args) -> None:
    """Export round 1's model to `target` (its numbers are printed, and in --results-json, already), remove
    the conversions of the export it replaces, and convert it to --export-formats."""
    from kerascmp.serving import export

    if result.diverged:
        print(f"not exported: a diverged model would answer NaN; {target}/ is left as it was")
        return
    stale = stale_conversions(target)
    try:
        replaced = export.export_model(result.model, target, export.run_metadata(result))
    except Exception as err:
        cause = cli.storage_cause(err)
        if cause is None:
            raise
        kept = "the previous export there is kept, unchanged" if target.exists() else "none was"
        numbers = f"its numbers are in {args.results_json}" if args.results_json else "printed above"
        raise cli.StorageError(
            f"round 1 trained ({numbers}) but could not be exported to {target}/ ({cause}); {kept}"
        ) from None
    print(
        f"exported {target}/ (SavedModel) and {target.with_suffix('.keras')}"
        + (f", replacing the export of {replaced}" if replaced else "")
    )
    for path in stale:
        path.unlink(missing_ok=True)
        print(f"removed {path}: it was converted from the export just replaced")
    convert_export(target, args.export_formats)


def stale_conversions(target: Path) -> list[Path]:
    """The kerascmp conversions beside the export `target` (X.onnx, X.tflite): made from the model that a
    new export replaces, so they go with it."""
    from kerascmp.serving.convert import CONVERTED, default_output, is_conversion

    paths = [(default_output(target, fmt), fmt) for fmt in CONVERTED]
    return [path for path, fmt in paths if path.is_file() and is_conversion(path, fmt)]


def convert_export(target: Path, formats: tuple[str, ...]) -> None:
    from kerascmp.serving.convert import CONVERTED, convert

    for fmt in (f for f in formats if f in CONVERTED):
        print(f"converting {target}/ to {fmt} and checking it against the SavedModel ...", flush=True)
        print(convert(target, fmt).describe())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    variant = cli.variant_named(args.variant)

    runtime.configure_runtime()  # TensorFlow loads here, after the arguments
    from kerascmp.data import generate_pair_sets
    from kerascmp.engine import tensorboard_logs
    from kerascmp.engine.fitting import Trainer
    from kerascmp.engine.runs import train_runs
    from kerascmp.engine.specs import RunSpec
    from kerascmp.serving import export

    hparams = variant.hyperparameters(
        learning_rate=args.lr,
        c_aux=args.c_aux,
        epochs=args.epochs,
        batch_size=args.batch_size,
        precision=args.precision,
    )
    print(f"{variant.name}: {variant.description}")
    print(
        f"lr {hparams.learning_rate:g}, c_aux {hparams.c_aux:g}, {hparams.epochs} epochs, batch "
        f"{hparams.batch_size}, {args.pairs} pairs, {args.rounds} round(s) from seed {args.seed}, "
        f"{hparams.precision}"
        + (
            f"; an ensemble of {variant.members} members"
            + (f" and {len(variant.joined)} joined ({', '.join(variant.joined)})" if variant.joined else "")
            + ", trained independently"
            if variant.nets > 1
            else ""
        )
        + (
            f"; one net taught by {variant.distillation.teachers} teachers trained first"
            if variant.distillation
            else ""
        )
        + (
            f"; scored on the pairs and {variant.test_time_views} shifted or rotated copies"
            if variant.test_time_views
            else ""
        )
    )

    results = {
        "variant": variant.name,
        "hyperparameters": dataclasses.asdict(hparams),
        "pairs": args.pairs,
        "seed": args.seed,
        "rounds": [],
        "packages": export.package_versions(),
    }
    if args.tensorboard:  # refused now, not after the first round trained
        for r in range(args.rounds):
            tensorboard_logs.check_run_dir(
                Path(args.tensorboard) / tensorboard_logs.run_name(variant.name, r + 1)
            )
    trainer = Trainer()  # rounds share one compiled training step
    diverged = 0
    for r in range(args.rounds):
        seed = seeds.round_seed(args.seed, r)
        train_pairs, test_pairs = generate_pair_sets(args.pairs, seed, args.data_dir, args.download)
        spec = RunSpec(variant.name, seed, hparams, train_pairs, {TEST: test_pairs})
        (result,) = train_runs(
            [spec],
            trainer=trainer,
            verbose=not args.quiet,
            label=f"round {r + 1}/{args.rounds} (seed {seed})",
        )
        if args.tensorboard:
            tensorboard_logs.write_run(
                Path(args.tensorboard) / tensorboard_logs.run_name(variant.name, r + 1),
                hparams={
                    "variant": variant.name,
                    "learning_rate": hparams.learning_rate,
                    "c_aux": hparams.c_aux,
                    "seed": seed,
                    "round": r + 1,
                },
                metrics={key: result.errors[key] for key in ERROR_KEYS},
                curves=result.history,
            )
        outcome = DIVERGED if result.diverged else format_errors(result.errors)
        print(f"round {r + 1}/{args.rounds}  {outcome}  [{result.wall_s:.1f} s]", flush=True)
        diverged += result.diverged
        results["rounds"].append(
            {
                "round": r + 1,
                "seed": seed,
                "errors": result.errors,
                "diverged": result.diverged,
                "wall_s": result.wall_s,
            }
        )
        results["summary"] = summary_of(results["rounds"])
        if args.results_json:  # after every round, so an interrupted run keeps what it finished
            try:
                files.atomic_write_json(args.results_json, results)
            except OSError as err:
                raise cli.StorageError(
                    f"round {r + 1} trained but --results-json {args.results_json} could not be written "
                    f"({err.strerror}); it holds the rounds before, unchanged"
                ) from None
        if r == 0 and not args.no_export:
            export_first_round(result, Path(args.output_dir) / variant.name, args)

    if args.rounds > 1:
        summary = results["summary"]
        print(f"mean ± std over {args.rounds} rounds (error %):")
        for key in ERROR_KEYS:
            stats = summary[key]
            if stats["mean"] is not None:
                print(f"  {key:18s} {stats['mean']:6.2f} ± {stats['std']:.2f}")
    if args.results_json:
        print(f"results written to {args.results_json}")
    if diverged:
        print(
            f"error: {diverged} of {args.rounds} round(s) diverged (non-finite weights or outputs) at lr "
            f"{hparams.learning_rate:g}; lower --lr",
            file=sys.stderr,
        )
        return cli.EXIT_DIVERGED
    return 0


if __name__ == "__main__":
    cli.run_main(main)
