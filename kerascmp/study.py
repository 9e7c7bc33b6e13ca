"""Reproduce the report's results table: `python -m kerascmp.study --variants all --rounds 10`.

Every (variant, round) trains with the variant's defaults (kerascmp.variants) and is stored in
`<output-dir>/rounds.jsonl` the moment it finishes; a rerun of the same command skips what is stored.
Round r of every variant uses the same pairs (data seed = seed + r), so variants are compared on equal
data; initialisation and shuffling get a seed of their own per (variant, round).
Outputs: rounds.jsonl, study.json, table.csv, table.md, claims.csv, claims.png, learning_curves.png,
comparison.png; claims.json with --longer.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from kerascmp import cli, defaults, files, outputs, seeds
from kerascmp.analysis import rounds
from kerascmp.analysis.rounds import ARCHITECTURE, RECIPE
from kerascmp.data import max_pairs
from kerascmp.engine import runtime
from kerascmp.names import (
    CLAIMS_FILE,
    COMPARISON,
    PAIR_OUTPUTS,
    ROUNDS_FILE,
    TEST,
    error_key,
)
from kerascmp.variants import REPORT_VARIANTS, get_variant

STUDY_FILE = "study.json"  # the study's settings, and its marker: --overwrite touches no other dir
TENSORBOARD_DIR = "tensorboard"  # the default --tensorboard, inside the study dir
HELD_OUT_EVERY = 5  # epochs between held-out evaluations for the learning curves (cheap, not free)


def parse_variants(text: str) -> list[str]:
    """The variants a --variants list names, 'all' standing for the report's six; each must be registered."""
    names = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        for variant in REPORT_VARIANTS if name == "all" else [name]:
            cli.variant_named(variant)
            if variant not in names:
                names.append(variant)
    if not names:
        raise cli.UsageError("--variants is empty")
    return names


def run_seed(seed: int, variant: str, round_index: int) -> int:
    """A seed of its own for each (variant, round), from the variant's own seed identity: stable whatever
    subset of variants is run or loaded, and whatever their order."""
    return seeds.study_run_seed(seed, cli.variant_named(variant).seed_id, round_index)


def hyperparameters_of(name: str, args):
    """A variant's hyperparameters for this study: its defaults, or its best point on the report's grid."""
    return cli.variant_named(name).protocol_hyperparameters(
        args.hyperparameters, epochs=args.epochs, precision=args.precision
    )


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.study", description=__doc__.splitlines()[0])
    cli.add_variant_arguments(parser, several=True)
    parser.add_argument(
        "--rounds",
        type=cli.bounded_int(defaults.MAX_ROUNDS),
        default=10,
        help="rounds per variant (default 10)",
    )
    parser.add_argument(
        "--seed", type=cli.non_negative_int, default=0, help="round r's pairs come from seed + r (default 0)"
    )
    parser.add_argument(
        "--epochs",
        type=cli.bounded_int(defaults.MAX_EPOCHS),
        help="for every variant (default: each variant's; the report's: 50)",
    )
    parser.add_argument(
        "--hyperparameters",
        choices=("tuned", "report"),
        default="tuned",
        help="'tuned': each variant's defaults; 'report': the best points of the report's grid, 5 learning "
        "rates up to 0.1 (the table in results/); each variant declares both (kerascmp/variants/)",
    )
    parser.add_argument(
        "--pairs",
        type=cli.positive_int,
        default=defaults.PAIRS,
        help=f"training and test pairs per round (default {defaults.PAIRS})",
    )
    cli.add_precision_argument(parser)
    cli.add_data_arguments(parser)
    parser.add_argument(
        "--output-dir",
        default="results",
        help="the study's folder: its rounds, table, claims, figures (default results, the committed study)",
    )
    parser.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="TensorBoard logs, one run per variant and round (default <output-dir>/tensorboard)",
    )
    parser.add_argument(
        "--longer",
        metavar="DIR",
        help="a study of the same variants and --seed with more epochs: the claims '... epochs improve every "
        "variant' and '... keep the ranking' test its rounds against these (remembered in claims.json)",
    )
    parser.add_argument("--overwrite", action="store_true", help="discard stored rounds and start afresh")
    parser.add_argument("--quiet", action="store_true", help="no progress bars: one line per round")
    return parser


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """Every path a study writes (kerascmp.outputs): its directory and its TensorBoard logs."""
    return [
        outputs.Output("--output-dir", args.output_dir, outputs.DIRECTORY),
        outputs.Output("--tensorboard", args.tensorboard, outputs.DIRECTORY),
    ], [
        outputs.Input("--longer", args.longer, holds_outputs=True),
        *cli.read_inputs(args),
    ]


def check_longer(longer_dir: Path, output_dir: Path, settings: dict, epochs: dict[str, int]) -> None:
    """--longer must name another study, made with this one's seed and pairs and other epochs."""
    settings_file = longer_dir / STUDY_FILE
    if longer_dir.resolve() == output_dir.resolve():
        raise cli.UsageError(f"--longer {longer_dir} is this study's own directory; name the longer study")
    if not settings_file.is_file() or not (longer_dir / ROUNDS_FILE).is_file():
        raise cli.UsageError(
            f"--longer {longer_dir} holds no study ({STUDY_FILE} and {ROUNDS_FILE}); run it there first, "
            "with --epochs"
        )
    try:
        theirs = json.loads(settings_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise cli.UsageError(f"{settings_file} is damaged (not JSON)") from None
    differing = [k for k in ("seed", "pairs") if theirs.get(k) != settings[k]]
    if differing or theirs.get("epochs") in (None, settings["epochs"]):
        raise cli.UsageError(
            f"--longer {longer_dir} must be a study with this one's seed and pairs and its own --epochs "
            f"(it has {files.differences(theirs, settings) or 'the same epochs'}), so that its rounds pair "
            "up with these"
        )
    shorter = sorted(name for name, n in epochs.items() if theirs["epochs"] <= n)
    if shorter:
        raise cli.UsageError(
            f"--longer {longer_dir} trains {theirs['epochs']} epochs, not more than this study's "
            f"{max(epochs[name] for name in shorter)} ({', '.join(shorter)}); name a study with more epochs"
        )
    held = {r.variant for r in rounds.load(longer_dir / ROUNDS_FILE)}
    missing = [name for name in epochs if name not in held]
    if missing:
        print(
            f"note: --longer {longer_dir} holds no rounds of {len(missing)} of this study's {len(epochs)} "
            f"variants ({', '.join(missing)}); its claims test the other {len(epochs) - len(missing)}"
        )


# ---- storage ------------------------------------------------------------------------------------------


def _mismatches(record: rounds.RoundRecord, settings: dict, hparams: dict | None, definition: dict) -> dict:
    """{what: (stored, this study's)} where a stored round differs from what this study would train."""
    stored = record.hyperparameters
    expected = {"pairs": (record.pairs, settings["pairs"])}
    expected["data seed"] = (record.data_seed, seeds.round_seed(settings["seed"], record.round))
    expected["precision"] = (stored.get("precision"), settings["precision"])
    if settings["epochs"] is not None:
        expected["epochs"] = (stored.get("epochs"), settings["epochs"])
    if hparams is not None:
        expected.update({key: (stored.get(key), value) for key, value in hparams.items()})
    expected.update(rounds.definition_changes(record, definition))
    return {key: pair for key, pair in expected.items() if pair[0] != pair[1]}


def remedy(output_dir: Path, stored: list[rounds.RoundRecord]) -> str:
    """What to do about a refused directory, and what --overwrite would delete there."""
    if files.tracked_by_git(output_dir / ROUNDS_FILE):
        return (
            f"use another --output-dir: {output_dir} holds the repository's committed results "
            f"({len(stored)} rounds), which --overwrite would delete"
        )
    return f"use another --output-dir, or --overwrite to delete its {len(stored)} stored round(s)"


def check_rounds(
    stored: list[rounds.RoundRecord], settings: dict, chosen: dict, definitions: dict, output_dir: Path
):
    """Rounds are averaged together, so every stored one must have been made as this study would make it:
    checked against each round's own record, not against study.json, which can go missing. `definitions`:
    each variant's {ARCHITECTURE: fingerprint, RECIPE: training recipe} (rounds.definition_changes)."""
    for record in stored:
        name = record.variant
        mismatches = _mismatches(record, settings, chosen.get(name), definitions.get(name, {}))
        if mismatches:
            what = f"another definition of {name}" if rounds.redefined(mismatches) else "other settings"
            changed = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in mismatches.items())
            raise cli.UsageError(
                f"{output_dir} holds {name} rounds made with {what} (round {record.round + 1}: "
                f"{changed}); {remedy(output_dir, stored)}"
            )


def discard_study(output_dir: Path, tensorboard: Path) -> None:
    """`--overwrite` discards only a study's own files: its rounds, settings and TensorBoard runs (the
    whole default log dir inside the study's dir; elsewhere, only the runs marked as this study's)."""
    from kerascmp.engine import tensorboard_logs

    inside = tensorboard == output_dir / TENSORBOARD_DIR
    owned = (STUDY_FILE, ROUNDS_FILE, CLAIMS_FILE, *((TENSORBOARD_DIR,) if inside else ()))
    files.discard_outputs(output_dir, STUDY_FILE, owned, "study", "--output-dir")
    if not inside:
        tensorboard_logs.discard_runs(tensorboard, tensorboard_owner(output_dir))
    tensorboard.mkdir(parents=True, exist_ok=True)


def tensorboard_owner(output_dir: Path) -> str:
    """What marks a TensorBoard run as this study's: its directory, resolved."""
    return str(Path(output_dir).resolve())


# ---- the run ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = files.CommandRecord.start("kerascmp.study", argv)
    args = build_parser().parse_args(argv)
    cli.load_plugins(args.plugin)
    names = parse_variants(args.variants)
    if args.pairs > max_pairs("test"):
        raise cli.UsageError(
            f"--pairs {args.pairs}: MNIST-test gives at most {max_pairs('test')} disjoint pairs"
        )
    cli.check_seeds(args.seed, args.rounds)  # round r's pairs come from seed + r
    output_dir = Path(args.output_dir)
    args.tensorboard = Path(args.tensorboard or output_dir / TENSORBOARD_DIR)
    outputs.check(*declared_outputs(args))
    lock = files.DirectoryLock(output_dir, "study", "--output-dir")  # one study per directory at a time
    try:
        return _run(args, names, output_dir, command)
    finally:
        lock.release()


def _run(args, names: list[str], output_dir: Path, command: files.CommandRecord) -> int:
    settings = {"seed": args.seed, "epochs": args.epochs, "pairs": args.pairs, "precision": args.precision}
    if args.overwrite:
        discard_study(output_dir, args.tensorboard)
    rounds_path = output_dir / ROUNDS_FILE
    stored = rounds.load(rounds_path)

    runtime.configure_runtime()
    from kerascmp.analysis.study_files import longer_rounds, record_longer, write_study_files
    from kerascmp.analysis.summaries import summarize, summary_table
    from kerascmp.analysis.tables import table_markdown
    from kerascmp.data import generate_pair_sets
    from kerascmp.engine import tensorboard_logs
    from kerascmp.engine.build import build_model
    from kerascmp.engine.compile import training_recipe
    from kerascmp.engine.fitting import Trainer
    from kerascmp.engine.runs import train_runs
    from kerascmp.engine.scoring import comparison_failures
    from kerascmp.engine.specs import RunSpec
    from kerascmp.models import architecture_fingerprint
    from kerascmp.serving import export

    chosen = {name: hyperparameters_of(name, args) for name in names}
    definitions = {
        name: {
            ARCHITECTURE: architecture_fingerprint(build_model(name, seed=0, precision=hparams.precision)),
            RECIPE: training_recipe(get_variant(name)),
        }
        for name, hparams in chosen.items()
    }
    check_rounds(
        stored, settings, {n: dataclasses.asdict(h) for n, h in chosen.items()}, definitions, output_dir
    )
    if args.longer:  # refused before this directory is claimed
        check_longer(Path(args.longer), output_dir, settings, {n: h.epochs for n, h in chosen.items()})
    files.claim_directory(output_dir / STUDY_FILE, settings, "study", remedy(output_dir, stored))
    if args.longer:
        record_longer(output_dir, Path(args.longer))
    longer_rounds(output_dir)  # a damaged claims.json is refused now, not after training
    epochs = " / ".join(sorted({f"{h.epochs} epochs" for h in chosen.values()}, key=len))
    done = {(r.variant, r.round) for r in stored}
    todo = {name: [i for i in range(args.rounds) if (name, i) not in done] for name in names}
    total = sum(len(v) for v in todo.values())
    skipped = len(names) * args.rounds - total
    print(
        f"study: {len(names)} variant(s) x {args.rounds} rounds, {epochs}, {args.pairs} pairs, "
        f"{args.precision}; {skipped} round(s) already stored in {rounds_path}, {total} to train"
    )
    for name in names:  # refused now, not after the first round trained
        for i in todo[name]:
            tensorboard_logs.check_run_dir(args.tensorboard / tensorboard_logs.run_name(name, i + 1))
    title = f"{epochs}, {args.pairs} pairs; rounds per variant in the table"
    versions = export.package_versions()
    tensorboard_logs.write_hparams_config(
        args.tensorboard,
        {"variant": names, "learning_rate": None, "c_aux": None, "seed": None, "round": None},
        [error_key(TEST, output) for output in PAIR_OUTPUTS],
    )
    started, trained = time.perf_counter(), 0
    trainer = Trainer()  # rounds of a variant share one compiled training step
    test_comparison = error_key(TEST, COMPARISON)

    for v, name in enumerate(names, start=1):
        hparams = chosen[name]
        for i in todo[name]:
            train, test = generate_pair_sets(
                args.pairs, seeds.round_seed(args.seed, i), args.data_dir, args.download
            )
            spec = RunSpec(name, run_seed(args.seed, name, i), hparams, train, {TEST: test}, monitor=test)
            progress = f"[variant {v}/{len(names)} {name}] round {i + 1}/{args.rounds}"
            (result,) = train_runs(
                [spec],
                trainer=trainer,
                validation_freq=HELD_OUT_EVERY,
                label=progress,
                verbose=not args.quiet,
            )
            logged = time.perf_counter()
            tensorboard_logs.write_run(
                args.tensorboard / tensorboard_logs.run_name(name, i + 1),
                hparams={
                    "variant": name,
                    "learning_rate": hparams.learning_rate,
                    "c_aux": hparams.c_aux,
                    "seed": spec.seed,
                    "round": i + 1,
                },
                metrics={
                    error_key(TEST, output): result.errors[error_key(TEST, output)] for output in PAIR_OUTPUTS
                },
                curves=result.history,
                monitored_every=HELD_OUT_EVERY,
                owner=tensorboard_owner(output_dir),
            )
            record = rounds.RoundRecord(
                variant=name,
                round=i,
                seed=spec.seed,
                data_seed=seeds.round_seed(args.seed, i),
                hyperparameters=dataclasses.asdict(hparams),
                architecture=definitions[name][ARCHITECTURE],
                recipe=definitions[name][RECIPE],
                pairs=args.pairs,
                errors=result.errors,
                diverged=result.diverged,
                test_comparison_failures=None if result.diverged else comparison_failures(result.model, test),
                history=result.history,
                history_val_every=HELD_OUT_EVERY,
                wall_s=result.wall_s,
                cpu_s=result.cpu_s,
                tensorboard_s=time.perf_counter() - logged,
                packages=versions,
            )
            try:
                rounds.append(rounds_path, record)  # on disk before the next round starts
            except OSError as err:
                raise cli.StorageError(
                    f"{progress} trained but could not be stored in {rounds_path} ({err.strerror}); the "
                    f"{len(stored)} round(s) stored before are kept: free space and rerun the same command "
                    "to resume"
                ) from None
            stored.append(record)
            trained += 1
            mean, std = summarize([r.errors[test_comparison] for r in stored if r.variant == name])
            eta = (time.perf_counter() - started) / trained * (total - trained)
            outcome = (
                "DIVERGED (NaN or infinite weights)"
                if result.diverged
                else f"test comparison error {result.errors[test_comparison]:.2f} %"
            )
            running = (
                "" if mean is None else f", running mean {mean:.2f}" + (f" ± {std:.2f}" if std else "") + " %"
            )
            print(
                f"{progress}: {outcome}{running}  | {trained}/{total} trained, ETA {eta / 60:.1f} min",
                flush=True,
            )

    # The table and figures show every variant stored here, each over all its stored rounds.
    table = summary_table(stored)
    try:
        tested = write_study_files(stored, output_dir, title)
    except OSError as err:
        raise cli.StorageError(
            f"all {len(stored)} rounds are stored in {rounds_path}, but the table and figures could not be "
            f"written ({err.strerror}); free space and rerun the same command: nothing is trained again"
        ) from None
    wall = time.perf_counter() - started
    print(table_markdown(table))
    if not tested:
        print(
            "note: no claim could be tested: each compares variants over 2 or more rounds; claims.csv and "
            "claims.png are not written"
        )
    print(
        "the table summarises every round stored in "
        + f"{output_dir}: "
        + ", ".join(f"{name} {stats['rounds']}" for name, stats in table.items())
    )
    print(f"trained {trained} round(s) in {wall / 60:.1f} min; outputs in {output_dir}/")
    command.append_to(output_dir)
    return 0


if __name__ == "__main__":
    cli.run_main(main, resumable=True)
