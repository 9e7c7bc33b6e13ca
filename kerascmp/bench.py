"""Training-speed benchmark: `python -m kerascmp.bench [--quick]`.

Measures, on this machine and in one invocation:
  (a) the matmul ceiling in float32 and bfloat16;
  (b) a plain baseline: the report's `main` model, `model.fit` on NumPy arrays with default settings;
  (c) kerascmp's training path (`kerascmp.engine.runs.train_runs`) on the same work;
and reports seconds per 50-epoch run, images/s, GFLOP/s, the fraction of the ceiling, and the ratio
baseline / kerascmp. Each timed run is a fresh process (TensorFlow's thread settings are per process),
and baseline and kerascmp runs alternate so that machine drift hits both alike. The same runs give the
test comparison error of both paths, to show the speed-up leaves the results unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kerascmp import cli, defaults, files, outputs
from kerascmp.analysis.speed import PACKED_ROUNDS, describe, markdown, training_flops_per_image
from kerascmp.engine.machine import conv_profile, machine_name, matmul_ceiling
from kerascmp.names import COMPARISON, TEST, error_key
from kerascmp.variants import get_variant

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "plain"
KERASCMP = "kerascmp"
ABLATIONS = {  # name: (worker mode, extra environment); each removes one ingredient of the fast path
    "kerascmp float32": ("kerascmp_float32", {}),
    "kerascmp, TF's default threads": (
        KERASCMP,
        {"TF_NUM_INTRAOP_THREADS": "0", "TF_NUM_INTEROP_THREADS": "0"},
    ),
}
SEQUENTIAL = "kerascmp_sequential"
# TF's defaults for the baseline: 0 means "let TensorFlow choose", and stops kerascmp's own setting.
DEFAULT_THREADS_ENV = {"TF_NUM_INTRAOP_THREADS": "0", "TF_NUM_INTEROP_THREADS": "0"}


def worker(mode: str, seed: int, epochs: int, rounds: int) -> dict:
    """Train `rounds` runs of `main` from `seed` the given way; returns seconds per run and test errors."""
    from kerascmp.data import generate_pair_sets
    from kerascmp.engine.fitting import Trainer
    from kerascmp.engine.runs import train_runs
    from kerascmp.engine.specs import RunSpec

    pair_sets = [generate_pair_sets(defaults.PAIRS, seed + r) for r in range(rounds)]
    variant = get_variant("main")
    start = time.perf_counter()
    if mode == BASELINE:
        hparams = variant.hyperparameters(epochs=epochs)
        errors = [_plain_fit(train, test, hparams, seed + r) for r, (train, test) in enumerate(pair_sets)]
    else:
        precision = "float32" if mode == "kerascmp_float32" else defaults.PRECISION
        hparams = variant.hyperparameters(epochs=epochs, precision=precision)
        specs = [
            RunSpec(variant.name, seed + r, hparams, train, {TEST: test})
            for r, (train, test) in enumerate(pair_sets)
        ]
        if mode == SEQUENTIAL:  # what the study and the search do: rounds one by one, one compiled step
            trainer = Trainer()
            results = [train_runs([spec], trainer=trainer, verbose=False)[0] for spec in specs]
        else:
            results = train_runs(specs, verbose=False)
        errors = [result.errors[error_key(TEST, COMPARISON)] for result in results]
    seconds = (time.perf_counter() - start) / rounds
    return {
        "mode": mode,
        "seed": seed,
        "rounds": rounds,
        "epochs": epochs,
        "seconds_per_run": seconds,
        "test_comparison_errors": errors,
    }


def _plain_fit(train, test, hparams, seed: int) -> float:
    """What a Keras user writes first: compile, then fit on NumPy arrays, default settings."""
    import keras

    from kerascmp.engine.compile import compile_model, loss_weights
    from kerascmp.engine.scoring import error_rates, targets_of

    keras.utils.set_random_seed(seed)
    model = compile_model(
        get_variant("main").build(), learning_rate=hparams.learning_rate, weights=loss_weights(hparams.c_aux)
    )
    model.fit(train.pairs, targets_of(train), batch_size=hparams.batch_size, epochs=hparams.epochs, verbose=0)
    return error_rates(model.predict(test.pairs, batch_size=1000, verbose=0), test)[COMPARISON]


def spawn(mode: str, seed: int, epochs: int, rounds: int = 1, env: dict | None = None) -> dict:
    command = [
        sys.executable,
        "-m",
        "kerascmp.bench",
        "--worker",
        mode,
        "--seed",
        str(seed),
        "--epochs",
        str(epochs),
        "--rounds",
        str(rounds),
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark worker {mode} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one baseline/kerascmp pair, no ablations (about 1 minute)"
    )
    parser.add_argument(
        "--repeats", type=cli.positive_int, help="alternating baseline/kerascmp pairs (default 5)"
    )
    parser.add_argument(
        "--epochs", type=cli.bounded_int(defaults.MAX_EPOCHS), help="epochs per timed run (default 50)"
    )
    parser.add_argument(
        "--output-dir",
        help="where results.json and results.md go "
        "(default benchmarks/results, or benchmarks/quick with --quick)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS, default=None)
    parser.add_argument("--seed", type=cli.non_negative_int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--rounds", type=cli.bounded_int(defaults.MAX_ROUNDS), default=1, help=argparse.SUPPRESS
    )
    return parser


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """Where results.json and results.md go (kerascmp.outputs)."""
    output_dir = args.output_dir or ROOT / "benchmarks" / ("quick" if args.quick else "results")
    return [outputs.Output("--output-dir", output_dir, outputs.DIRECTORY)], []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker == "ceiling":
        print(json.dumps({"ceiling": matmul_ceiling(), "conv_profile": conv_profile()}))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.seed, args.epochs or defaults.EPOCHS, args.rounds)))
        return 0

    repeats = args.repeats or (1 if args.quick else 5)
    epochs = args.epochs or defaults.EPOCHS
    output_dir = Path(args.output_dir or ROOT / "benchmarks" / ("quick" if args.quick else "results"))
    outputs.check(*declared_outputs(args))
    started = time.time()
    print("matmul ceiling and convolution profile (all cores) ...", flush=True)
    kernels = spawn("ceiling", 0, 1, env=DEFAULT_THREADS_ENV)
    ceiling = kernels["ceiling"]
    print(f"  float32 {ceiling['float32']:.0f} GFLOP/s, bfloat16 {ceiling['bfloat16']:.0f} GFLOP/s")

    samples = {BASELINE: [], KERASCMP: []}
    for i in range(repeats):  # alternate, seed i for both: same pairs, same work
        for mode, env in ((BASELINE, DEFAULT_THREADS_ENV), (KERASCMP, {})):
            result = spawn(mode, i, epochs, env=env)
            samples[mode].append(result)
            print(
                f"  [{i + 1}/{repeats}] {mode:9s} {result['seconds_per_run']:6.2f} s for {epochs} epochs, "
                f"test comparison error {result['test_comparison_errors'][0]:.1f} %",
                flush=True,
            )
    pair_ratios = [
        b["seconds_per_run"] / k["seconds_per_run"] for b, k in zip(samples[BASELINE], samples[KERASCMP])
    ]

    def row(results, precision):
        out = describe([r["seconds_per_run"] for r in results], epochs, ceiling, precision)
        out["test_comparison_errors"] = [e for r in results for e in r["test_comparison_errors"]]
        return out

    paths = {
        "plain model.fit (baseline)": row(samples[BASELINE], "float32"),
        f"kerascmp ({defaults.PRECISION})": row(samples[KERASCMP], defaults.PRECISION),
    }
    sequences = {}
    if not args.quick:
        # The study's work: rounds one after another in one process (kerascmp reuses its traced step).
        for mode, env, precision, name in (
            (
                BASELINE,
                DEFAULT_THREADS_ENV,
                "float32",
                f"plain model.fit, {PACKED_ROUNDS} rounds in sequence",
            ),
            (
                SEQUENTIAL,
                {},
                defaults.PRECISION,
                f"kerascmp, {PACKED_ROUNDS} rounds in sequence (as the study runs)",
            ),
            (KERASCMP, {}, defaults.PRECISION, f"kerascmp, {PACKED_ROUNDS} rounds packed in one model"),
        ):
            result = spawn(mode, 100, epochs, rounds=PACKED_ROUNDS, env=env)
            paths[name] = row([result], precision)
            sequences[mode] = result["seconds_per_run"]
            print(f"  {name}: {result['seconds_per_run']:.2f} s per run", flush=True)
        for name, (mode, env) in ABLATIONS.items():
            result = spawn(mode, 0, epochs, env=env)
            paths[name] = row([result], "float32" if "float32" in mode else defaults.PRECISION)
            print(f"  {name}: {result['seconds_per_run']:.2f} s", flush=True)

    report = {
        "command": "python -m kerascmp.bench"
        + (" --quick" if args.quick else "")
        + (f" --repeats {args.repeats}" if args.repeats else "")
        + (f" --epochs {args.epochs}" if args.epochs else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine_name(),
        "epochs": epochs,
        "ceiling": ceiling,
        "paths": paths,
        "ratio": statistics.median(pair_ratios),
        "pair_ratios": pair_ratios,
        "sequence_ratio": sequences[BASELINE] / sequences[SEQUENTIAL] if sequences else None,
        "training_flops_per_image": training_flops_per_image(),
        "conv_profile": kernels["conv_profile"],
    }
    report["wall_s"] = time.time() - started
    files.atomic_write_json(output_dir / "results.json", report)
    files.atomic_write_text(output_dir / "results.md", markdown(report))
    print(markdown(report))
    print(f"written to {output_dir}/results.json and results.md ({report['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    cli.run_main(main)
