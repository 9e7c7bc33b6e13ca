"""The benchmark's report: seconds per run against the machine's ceiling, and results.md."""

from __future__ import annotations

import statistics

from kerascmp import defaults

PACKED_ROUNDS = 5  # rounds per process in the "rounds in sequence" comparison


def training_flops_per_image() -> float:
    """FLOPs to train the digit net on one image: forward, weight gradients, and input gradients
    (all layers but the first, whose input needs none). Convolutions dominate; 2 FLOPs per MAC."""
    conv1 = 2 * 12 * 12 * 32 * (3 * 3 * 1)
    conv2 = 2 * 8 * 8 * 64 * (5 * 5 * 32)
    dense = 2 * (256 * 200 + 200 * 10)
    forward = conv1 + conv2 + dense
    return forward + forward + (forward - conv1)


def describe(seconds: list[float], epochs: int, ceiling: dict[str, float], precision: str) -> dict:
    per_run = statistics.median(seconds)
    images = 2 * defaults.PAIRS * epochs
    gflops = images * training_flops_per_image() / per_run / 1e9
    return {
        "seconds_per_run": per_run,
        "images_per_s": images / per_run,
        "gflop_per_s": gflops,
        "fraction_of_ceiling": gflops / ceiling[precision],
        "ceiling_precision": precision,
        "samples": len(seconds),
    }


def markdown(report: dict) -> str:
    lines = [
        f"# Training benchmark ({report['date']}, {report['machine']})",
        "",
        f"Command: `{report['command']}`. One run = the report's `main` net, 1000 pairs, batch 100, "
        f"{report['epochs']} epochs, timed end to end (build, fit, evaluate; median over runs).",
        "",
        f"Matmul ceiling: {report['ceiling']['float32']:.0f} GFLOP/s float32, "
        f"{report['ceiling']['bfloat16']:.0f} GFLOP/s bfloat16.",
        "",
        f"| path | s / {report['epochs']}-epoch run | images/s | GFLOP/s | of ceiling "
        "| test comparison error % |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in report["paths"].items():
        errors = row.get("test_comparison_errors") or []
        error = (
            f"{statistics.mean(errors):.2f} ± {statistics.stdev(errors):.2f} (n={len(errors)})"
            if len(errors) > 1
            else (f"{errors[0]:.2f} (n=1)" if errors else "–")
        )
        lines.append(
            f"| {name} | {row['seconds_per_run']:.2f} | {row['images_per_s']:.0f} | "
            f"{row['gflop_per_s']:.0f} | {row['fraction_of_ceiling']:.0%} ({row['ceiling_precision']}) | "
            f"{error} |"
        )
    lines += [
        "",
        f"**Speed-up, baseline / kerascmp, alternating runs: {report['ratio']:.2f}×** "
        f"(per-pair ratios: {', '.join(f'{r:.2f}' for r in report['pair_ratios'])}).",
    ]
    if report.get("sequence_ratio"):
        lines += [
            "",
            f"**Rounds in sequence, as the study runs them: {report['sequence_ratio']:.2f}×** "
            f"(plain / kerascmp, {PACKED_ROUNDS} rounds each, per run).",
        ]
    if report.get("conv_profile"):
        lines += [
            "",
            "Where a training step goes (batch of 200 images, the 5×5 convolution's kernels, ms):",
            "",
            "| precision | forward | backprop input | backprop filter | sum × 500 steps (s) |",
            "|---|---|---|---|---|",
        ]
        for precision, t in report["conv_profile"].items():
            total = sum(t.values())
            lines.append(
                f"| {precision} | {t['forward']:.2f} | {t['backprop_input']:.2f} | "
                f"{t['backprop_filter']:.2f} | {total * 500 / 1e3:.2f} |"
            )
    return "\n".join(lines) + "\n"
