"""The three export formats side by side: size on disk and latency per 1000 pairs in each runtime.

    python benchmarks/ship.py            # writes benchmarks/results/ship.json and prints the markdown table

Latency and size depend on the architecture, not on what the weights learned, so each variant is exported
from a model trained one epoch on 200 pairs (bfloat16, as `train` trains by default) and exported as
`train` exports it: a float32 SavedModel, then its ONNX and LiteRT conversions (kerascmp.serving.convert,
each checked against the SavedModel). Each runtime scores the same 1000 MNIST-test pairs in one call,
after a warm-up call; the latency is the median of REPEATS calls. The machine's matmul ceiling is
measured in the same run, so the times can be read against this machine's speed that day.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kerascmp.engine import runtime  # noqa: E402

VARIANTS = ("main", "noise_removal", "fc_baseline", "analytic", "beyond_ensemble", "best")
FORMATS = {"savedmodel": "SavedModel (TensorFlow)", "onnx": "ONNX (ONNX Runtime)", "tflite": "LiteRT"}
PAIRS, REPEATS = 1000, 20
OUTPUT = REPO / "benchmarks" / "results" / "ship.json"


def size_of(path: Path) -> int:
    """A file's bytes, or a SavedModel directory's (graph and variables) in all."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def latency_ms(model, pairs) -> float:
    model.run(pairs)  # warm-up: the first call builds what the runtime caches
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        model.run(pairs)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def measure() -> dict:
    runtime.configure_runtime()
    from kerascmp.data import generate_pair_sets
    from kerascmp.engine.machine import machine_name, matmul_ceiling
    from kerascmp.engine.runs import train_runs
    from kerascmp.engine.specs import RunSpec
    from kerascmp.names import TEST
    from kerascmp.serving import export
    from kerascmp.serving.convert import convert
    from kerascmp.serving.runtimes import open_model
    from kerascmp.variants import get_variant

    train, test = generate_pair_sets(200, seed=0)
    _, scored = generate_pair_sets(PAIRS, seed=1)
    rows = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in VARIANTS:
            hparams = get_variant(name).hyperparameters(epochs=1, precision="bfloat16")
            (run,) = train_runs([RunSpec(name, 0, hparams, train, {TEST: test})], verbose=False)
            directory = Path(workdir) / name
            export.export_model(run.model, directory, export.run_metadata(run))
            paths = {"savedmodel": directory}
            for fmt in ("onnx", "tflite"):
                paths[fmt] = convert(directory, fmt).path
            rows[name] = {
                fmt: {"bytes": size_of(path), "ms_per_1000_pairs": latency_ms(open_model(path), scored.pairs)}
                for fmt, path in paths.items()
            }
            print(name, {fmt: round(r["ms_per_1000_pairs"], 2) for fmt, r in rows[name].items()}, flush=True)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_name(),
        "matmul_ceiling_gflops": matmul_ceiling(),
        "pairs": PAIRS,
        "repeats": REPEATS,
        "variants": rows,
    }


def markdown(results: dict) -> str:
    lines = [
        "| variant | " + " | ".join(f"{FORMATS[f]}: size, ms per 1000 pairs" for f in FORMATS) + " |",
        "|---|" + "---|" * len(FORMATS),
    ]
    for name, row in results["variants"].items():
        cells = [f"{row[f]['bytes'] / 1024:,.0f} KiB, {row[f]['ms_per_1000_pairs']:.1f} ms" for f in FORMATS]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = measure()
    from kerascmp.files import atomic_write_json

    atomic_write_json(OUTPUT, results)
    print(markdown(results))
