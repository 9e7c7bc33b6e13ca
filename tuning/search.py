"""Grid search over learning rate x c_aux with KerasTuner: `python -m tuning.search --variant main`.

Resumable: rerun the same command after an interruption (Ctrl-C, kill -9) and it continues where it
stopped, re-running the interrupted point. Distributed: `--workers N` starts a KerasTuner chief and N
workers on 127.0.0.1; or start them yourself with KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP /
KERASTUNER_ORACLE_PORT (see tuning/README.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from kerascmp import cli, defaults, files, outputs
from kerascmp.analysis.rounds import RECIPE, recipe_changes
from kerascmp.data import max_pairs
from kerascmp.engine import runtime
from tuning.search_files import BEST_ERROR, REPORT_FILES, write_outputs, write_tensorboard

# Learning-rate grids by name; a comma list works too. The report's grid stops at 0.1, where most variants
# had their best rate (tuning/results/README.md), so the default goes on to 1.0, the edge of stability.
LEARNING_RATE_PRESETS = {
    "report": [0.0001, 0.000562, 0.00316, 0.0178, 0.1],  # 5 values log-spaced over [1e-4, 1e-1]
    "wide": [0.0001, 0.000562, 0.00316, 0.0178, 0.1, 0.178, 0.316, 0.562, 1.0],
}
DEFAULT_C_AUX = [round(0.05 * i, 2) for i in range(11)]  # 0, 0.05, ..., 0.5
SETTINGS_FILE = "search.json"  # the marker: a directory without it holds no search
TRIAL_SETTINGS = "kerascmp_search.json"  # in each trial's dir: the settings and architecture it trained
BATCH_SIZE = "batch_size"  # the variant's, in each trial's settings; older trials lack it
TENSORBOARD_DIR = "tensorboard"  # the HParams runs, inside the project dir
# What a search writes in its project dir (KerasTuner's files, then its own): all --overwrite removes.
SEARCH_OUTPUTS = (
    "oracle.json",
    "tuner*.json",
    "trial_*",
    SETTINGS_FILE,
    *REPORT_FILES,
    TENSORBOARD_DIR,
    files.CommandRecord.FILE_NAME,
)


def learning_rates(text: str) -> list[float]:
    return (
        LEARNING_RATE_PRESETS[text]
        if text in LEARNING_RATE_PRESETS
        else cli.comma_list(cli.positive_float)(text)
    )


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m tuning.search", description=__doc__.splitlines()[0])
    cli.add_variant_arguments(parser)
    parser.add_argument(
        "--lr",
        type=learning_rates,
        default="wide",
        help="a comma list of learning rates, or a preset: 'report' (the report's 5, 1e-4..0.1) or 'wide' "
        "(those and 0.178, 0.316, 0.562, 1.0; the default)",
    )
    parser.add_argument(
        "--c-aux",
        type=cli.comma_list(cli.c_aux_value),
        default=DEFAULT_C_AUX,
        help="comma list of c_aux values in [0, 0.5] (default 0, 0.05, ..., 0.5); "
        "ignored by variants without auxiliary losses",
    )
    parser.add_argument(
        "--rounds",
        type=cli.bounded_int(defaults.MAX_ROUNDS),
        default=10,
        help="repetitions per point (default 10)",
    )
    parser.add_argument(
        "--screen-rounds",
        type=cli.bounded_int(defaults.MAX_ROUNDS),
        help="adaptive repetition: every point gets this many rounds, and only the points that could still "
        "be best (one-sided paired t-test, tuning/adaptive.py) get the rest up to --rounds",
    )
    parser.add_argument(
        "--epochs",
        type=cli.bounded_int(defaults.MAX_EPOCHS),
        help="default: the variant's (the report's: 50)",
    )
    parser.add_argument(
        "--pairs",
        type=cli.positive_int,
        default=defaults.PAIRS,
        help="training pairs per round, split 80/20 into train and validation unless --held-out-pairs",
    )
    parser.add_argument(
        "--held-out-pairs",
        type=cli.positive_int,
        help="train on all --pairs training pairs (the study's own) and validate on this many pairs of the "
        "MNIST-train images they leave unused: more validation, so smaller differences show",
    )
    parser.add_argument("--seed", type=cli.non_negative_int, default=0, help="round r uses seed + r")
    cli.add_precision_argument(parser)
    cli.add_data_arguments(parser)
    parser.add_argument("--project-dir", help="KerasTuner project dir (default tuning/runs/<variant>)")
    parser.add_argument(
        "--overwrite", action="store_true", help="discard an existing search in --project-dir"
    )
    parser.add_argument(
        "--workers", type=cli.positive_int, help="start a KerasTuner chief and this many workers on 127.0.0.1"
    )
    parser.add_argument("--verbose", action="store_true", help="show epoch progress bars")
    return parser


def parse_args(argv):
    args = build_parser().parse_args(argv)
    if not 5 <= args.pairs <= max_pairs("train"):
        raise cli.UsageError(f"--pairs must be between 5 and {max_pairs('train')}, got {args.pairs}")
    if args.held_out_pairs and args.pairs + args.held_out_pairs > max_pairs("train"):
        raise cli.UsageError(
            f"--pairs plus --held-out-pairs must be at most {max_pairs('train')} (MNIST-train's images in "
            f"pairs), got {args.pairs + args.held_out_pairs}"
        )
    cli.check_seeds(args.seed, args.rounds)  # round r trains from seed + r
    if args.screen_rounds is not None and args.screen_rounds >= args.rounds:
        raise cli.UsageError(f"--screen-rounds {args.screen_rounds} must be below --rounds {args.rounds}")
    cli.load_plugins(args.plugin)
    variant = cli.variant_named(args.variant)  # checked before anything is written
    args.epochs = args.epochs or variant.defaults.epochs
    args.project_dir = Path(args.project_dir or Path("tuning") / "runs" / args.variant)
    outputs.check(*declared_outputs(args))
    return args


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """The project directory a search writes (kerascmp.outputs), and what it reads."""
    project_dir = args.project_dir or Path("tuning") / "runs" / args.variant
    return [outputs.Output("--project-dir", project_dir, outputs.DIRECTORY)], cli.read_inputs(args)


def settings_of(args):
    from tuning.hypermodel import SearchSettings

    return SearchSettings(
        variant=args.variant,
        learning_rates=tuple(args.lr),
        c_aux_values=tuple(args.c_aux),
        rounds=args.rounds,
        epochs=args.epochs,
        pairs=args.pairs,
        seed=args.seed,
        precision=args.precision,
        data_dir=args.data_dir,
        download=args.download,
        screen_rounds=args.screen_rounds,
        held_out_pairs=args.held_out_pairs,
    )


def describe(settings) -> dict:
    """What defines a search: a project dir holds exactly one."""
    data = dataclasses.asdict(settings)
    for machine_specific in ("data_dir", "download"):
        data.pop(machine_specific)
    data["learning_rates"], data["c_aux_values"] = list(settings.learning_rates), list(settings.c_aux_values)
    if not settings.tunes_c_aux:
        data["c_aux_values"] = []
    for added_later in ("screen_rounds", "held_out_pairs"):  # unset: recorded as searches were before them
        if data[added_later] is None:
            data.pop(added_later)
    return data


def architecture_of(settings) -> dict:
    """The fingerprint of the variant's model as this search builds it (the grid does not change it)."""
    from kerascmp.engine.build import build_model
    from kerascmp.models import architecture_fingerprint

    return architecture_fingerprint(build_model(settings.variant, seed=0, precision=settings.precision))


def check_trials(project_dir: Path, trial_settings: dict) -> None:
    """A project dir's trials are reported together, so each must have been trained as this search trains:
    checked against the settings each trial recorded, not against search.json, which can go missing. A
    KerasTuner project that no kerascmp search wrote is refused before anything is written into it."""
    marked = (project_dir / SETTINGS_FILE).is_file()
    recorded = any(project_dir.glob(f"trial_*/{TRIAL_SETTINGS}"))
    if not (marked or recorded) and (project_dir / "oracle.json").exists():
        raise cli.UsageError(
            f"--project-dir {project_dir} holds a KerasTuner project that no kerascmp search recorded (no "
            f"{SETTINGS_FILE}); use another --project-dir"
        )
    for trial_dir in sorted(project_dir.glob("trial_*")):
        path = trial_dir / TRIAL_SETTINGS
        if not path.is_file():
            if marked:  # a trial from before trials recorded their settings: search.json speaks for it
                continue
            raise cli.UsageError(
                f"--project-dir {project_dir} holds {trial_dir.name} whose settings are not recorded (no "
                f"{SETTINGS_FILE}); use another --project-dir"
            )
        try:
            stored = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            raise cli.UsageError(
                f"{path} is damaged (not JSON); delete {trial_dir} to rerun its point"
            ) from None
        settings_only = {k: v for k, v in trial_settings.items() if k not in (RECIPE, BATCH_SIZE)}
        moved = recipe_changes(stored.get(RECIPE), trial_settings[RECIPE])
        if stored.get(BATCH_SIZE, trial_settings[BATCH_SIZE]) != trial_settings[BATCH_SIZE]:
            moved[BATCH_SIZE] = (stored[BATCH_SIZE], trial_settings[BATCH_SIZE])
        changes = [files.differences(stored, settings_only)]
        changes += [f"{what} {old} -> {new}" for what, (old, new) in moved.items()]
        changed = ", ".join(change for change in changes if change)
        if changed:
            raise cli.UsageError(
                f"--project-dir {project_dir} holds {trial_dir.name}, trained with other settings "
                f"({changed}); rerun with its flags to resume, use another --project-dir, or --overwrite"
            )


def make_tuner(settings, project_dir: Path, verbose: bool, trial_settings: dict):
    runtime.configure_runtime()
    import keras_tuner

    from tuning.hypermodel import OBJECTIVE, ComparisonHyperModel
    from tuning.oracle import FIRST_ROUND, ResumableGridOracle, grid_of, points_of

    described = describe(settings)

    class GridTuner(keras_tuner.Tuner):
        """KerasTuner's Tuner on the resumable grid oracle; writes the outputs after every trial."""

        started = time.perf_counter()
        finished_here = 0

        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            grid = grid_of(self.oracle.get_space())  # the chief's oracle, or a worker's client of it
            total = len(points_of(grid))
            done = len(list(project_dir.glob("trial_*/trial.json"))) - 1
            rounds = settings.rounds_of(hp.values.get(FIRST_ROUND, 0))
            point = ", ".join(f"{k} {v:g}" for k, v in hp.values.items() if k != FIRST_ROUND)
            if rounds[0] > 0:
                what = f"contender {point}: rounds {rounds[0] + 1}-{rounds[-1] + 1} of {settings.rounds}"
            else:
                eta = ""
                if self.finished_here and done < total:
                    per_trial = (time.perf_counter() - self.started) / self.finished_here
                    stage = "screening ETA" if settings.screen_rounds else "ETA"
                    eta = f", {stage} {per_trial * (total - done) / 60:.1f} min"
                what = f"trial {done + 1} of {total}: {point} ({len(rounds)} rounds{eta})"
            print(f"{what} x {settings.epochs} epochs", flush=True)
            files.atomic_write_json(Path(self.get_trial_dir(trial.trial_id)) / TRIAL_SETTINGS, trial_settings)
            model = self.hypermodel.build(hp)
            metrics = self.hypermodel.fit(hp, model, verbose=verbose)
            write_tensorboard(project_dir / TENSORBOARD_DIR, trial.trial_id, dict(hp.values), metrics, grid)
            return metrics

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            self.finished_here += 1
            best = write_outputs(project_dir, described)
            if best:
                print(
                    f"best so far: val comparison error {best[BEST_ERROR]:.2f} % at lr "
                    f"{best['learning_rate']:g}"
                    + (f", c_aux {best['c_aux']:g}" if best["c_aux"] is not None else ""),
                    flush=True,
                )

    return GridTuner(
        oracle=ResumableGridOracle(
            keras_tuner.Objective(OBJECTIVE, "min"), screen_rounds=settings.screen_rounds, metric=OBJECTIVE
        ),
        hypermodel=ComparisonHyperModel(settings),
        directory=str(project_dir.parent),
        project_name=project_dir.name,
        overwrite=False,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = files.CommandRecord.start("tuning.search", argv)
    args = parse_args(argv)
    settings = settings_of(args)
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    if role:
        from tuning.launcher import follow_launcher

        follow_launcher()
    # A search alone, or a launcher, owns its project dir; the chief and workers it starts share it.
    lock = None if role else files.DirectoryLock(args.project_dir, "search", "--project-dir")
    try:
        return _run(args, argv, settings, role, command, lock)
    finally:
        if lock:
            lock.release()


def _run(args, argv: list[str], settings, role: str, command: files.CommandRecord, lock) -> int:
    if args.overwrite:
        kept = files.discard_outputs(
            args.project_dir, SETTINGS_FILE, SEARCH_OUTPUTS, "search", "--project-dir"
        )
        if kept:
            print(f"note: --overwrite kept what the search did not write: {', '.join(kept)}")
    from kerascmp.engine.compile import training_recipe
    from kerascmp.variants import get_variant

    variant = get_variant(settings.variant)
    trial_settings = {
        **describe(settings),
        "architecture": architecture_of(settings),
        RECIPE: training_recipe(variant),
        BATCH_SIZE: variant.defaults.batch_size,  # not a search setting: the variant's own
    }
    check_trials(args.project_dir, trial_settings)
    files.claim_directory(
        args.project_dir / SETTINGS_FILE,
        describe(settings),
        "search",
        "rerun with the same flags to resume, use another --project-dir, or --overwrite",
    )
    if args.workers:
        from tuning.launcher import launch

        code = launch(argv, args.workers, lock_fd=lock.fileno())
        command.append_to(args.project_dir)
        return code

    tuner = make_tuner(settings, args.project_dir, args.verbose, trial_settings)
    tuner.search()
    best = write_outputs(args.project_dir, describe(settings))
    if role and "chief" not in role:
        return 0  # a worker: the chief reports
    if not role:  # a chief under the launcher leaves this to the launcher
        command.append_to(args.project_dir)
    if best:
        print(
            f"search done: best val comparison error {best[BEST_ERROR]:.2f} % at lr "
            f"{best['learning_rate']:g}"
            + (f", c_aux {best['c_aux']:g}" if best["c_aux"] is not None else "")
            + f"; outputs in {args.project_dir}/"
        )
    return 0


if __name__ == "__main__":
    cli.run_main(main, resumable=True)
