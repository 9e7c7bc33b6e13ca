"""Predict with an exported model: `python -m kerascmp.predict --model saved_models/main a.png b.png`.

Loads the SavedModel alone (`tf.saved_model.load`), so it needs none of the training code.
Images: PNG, JPEG, BMP or GIF, grayscale or RGB, 28x28 or 14x14 (other sizes are resized to 28x28).
A dark digit on a light background is inverted to MNIST's light-on-dark unless --no-invert.
Arrays: --pairs FILE.npy of shape [N, 2, 14, 14] or [N, 2, 28, 28], raw pixels 0-255, with optional
--labels FILE.npy of digit classes [N, 2] to report error rates.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kerascmp import cli
from kerascmp.outputs import (
    COMPARISON,
    DIGIT_OUTPUTS,
    FIRST_LEQ_SECOND,
    P_FIRST_LEQ_SECOND,
    probabilities_key,
)

SIGNATURES = ("serving_default", "from_mnist")


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.predict", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help="exported SavedModel directory, e.g. saved_models/main"
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="two images: A and B")
    parser.add_argument("--pairs", help="a .npy of pairs [N, 2, 14, 14] or [N, 2, 28, 28], raw pixels 0-255")
    parser.add_argument("--labels", help="a .npy of the pairs' digit classes [N, 2]; adds error rates")
    parser.add_argument("--no-invert", action="store_true", help="never invert dark-on-light images")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def load_model(directory: str):
    import tensorflow as tf

    path = Path(directory)
    if not (path / "saved_model.pb").is_file():
        raise cli.UsageError(
            f"{directory} is not a SavedModel directory (no saved_model.pb); "
            "export one with python -m kerascmp.train"
        )
    try:
        model = tf.saved_model.load(str(path))
    except Exception as err:  # TF raises several types for a damaged SavedModel
        raise cli.UsageError(f"cannot load the SavedModel in {directory}: {type(err).__name__}") from None
    missing = [s for s in SIGNATURES if s not in model.signatures]
    if missing:
        raise cli.UsageError(
            f"{directory} lacks the kerascmp signature(s) {', '.join(missing)}; "
            "re-export it with python -m kerascmp.train"
        )
    return model


# ---- images -------------------------------------------------------------------------------------------


def read_image(path: str, invert: str | bool = "auto") -> tuple[np.ndarray, list[str]]:
    """A 28x28 uint8 MNIST-like digit (light on dark) from an image file, and notes on what was done."""
    import tensorflow as tf

    notes = []
    try:
        data = tf.io.read_file(path)
        image = tf.io.decode_image(data, expand_animations=False)
    except Exception as err:
        reason = (
            "not found"
            if not Path(path).exists()
            else f"not a readable PNG, JPEG, BMP or GIF ({type(err).__name__})"
        )
        raise cli.UsageError(f"image {path}: {reason}") from None
    if image.shape[-1] in (2, 4):  # drop alpha
        image = image[..., :-1]
    if image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    image = tf.cast(image[..., 0], tf.float32)
    height, width = image.shape
    if (height, width) == (14, 14):
        image = tf.repeat(tf.repeat(image, 2, axis=0), 2, axis=1)  # 2x2 pooling gives the 14x14 back exactly
    elif (height, width) != (28, 28):
        notes.append(f"{path}: {width}x{height} resized to 28x28")
        image = tf.image.resize(image[..., None], (28, 28), antialias=True)[..., 0]
    pixels = np.clip(np.round(image.numpy()), 0, 255).astype(np.uint8)
    if invert is True or (invert == "auto" and _looks_dark_on_light(pixels)):
        pixels = 255 - pixels
        notes.append(f"{path}: dark digit on light background, inverted (--no-invert to keep it)")
    return pixels, notes


def _looks_dark_on_light(pixels: np.ndarray) -> bool:
    """MNIST digits are light strokes on a black border; a light border means the opposite."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(border.mean()) > 127


# ---- arrays -------------------------------------------------------------------------------------------


def load_array(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise cli.UsageError(f"{what} {path}: not found") from None
    except Exception as err:
        raise cli.UsageError(f"{what} {path}: not a readable .npy file ({type(err).__name__})") from None


def check_pairs(pairs: np.ndarray) -> np.ndarray:
    """Refuse anything but a non-empty [N, 2, 14|28, 14|28] array of finite raw pixels 0-255."""
    if pairs.dtype.kind not in "uif":
        raise cli.UsageError(f"pairs must be numeric, got dtype {pairs.dtype}")
    if pairs.ndim != 4 or pairs.shape[1] != 2 or pairs.shape[2:] not in ((14, 14), (28, 28)):
        raise cli.UsageError(
            f"pairs must have shape [N, 2, 14, 14] or [N, 2, 28, 28], got {list(pairs.shape)}"
        )
    if len(pairs) == 0:
        raise cli.UsageError("pairs is an empty batch (N = 0)")
    if pairs.dtype.kind == "f" and not np.all(np.isfinite(pairs)):
        raise cli.UsageError("pairs contain NaN or inf")
    low, high = float(pairs.min()), float(pairs.max())
    looks_normalised = high <= 10  # raw MNIST strokes reach ~255; standardised or 0-1 data stays small
    if low < 0 or high > 255 or looks_normalised:
        hint = "looks normalised; pass raw pixels 0-255" if looks_normalised else "pass raw pixels 0-255"
        raise cli.UsageError(f"pixel values run from {low:g} to {high:g}: {hint}")
    return pairs


def check_labels(labels: np.ndarray, n: int) -> np.ndarray:
    if labels.dtype.kind not in "ui" or labels.shape != (n, 2) or labels.min() < 0 or labels.max() > 9:
        raise cli.UsageError(
            f"labels must be integer digit classes 0-9 of shape [{n}, 2] to match the pairs, "
            f"got {labels.dtype} {list(labels.shape)}"
        )
    return labels


def run_model(model, pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Through `from_mnist` for uint8 28x28 pairs, else through `serving_default` (pooled here if 28x28)."""
    import tensorflow as tf

    if pairs.shape[2:] == (28, 28) and pairs.dtype == np.uint8:
        outputs = model.signatures["from_mnist"](pairs=tf.constant(pairs))
    else:
        if pairs.shape[2:] == (28, 28):
            from kerascmp.data import pool_2x2

            pairs = pool_2x2(pairs)
        outputs = model.signatures["serving_default"](pairs=tf.constant(pairs, tf.float32))
    return {name: value.numpy() for name, value in outputs.items()}


# ---- reports ------------------------------------------------------------------------------------------


def describe_pair(outputs: dict[str, np.ndarray]) -> dict:
    p_leq = float(outputs[P_FIRST_LEQ_SECOND][0])
    report = {FIRST_LEQ_SECOND: bool(outputs[FIRST_LEQ_SECOND][0]), P_FIRST_LEQ_SECOND: p_leq}
    for side, name in zip("AB", map(probabilities_key, DIGIT_OUTPUTS)):
        if name in outputs:
            probabilities = outputs[name][0]
            report[f"digit_{side}"] = int(np.argmax(probabilities))
            report[f"p_digit_{side}"] = float(np.max(probabilities))
    return report


def summarize_pairs(outputs: dict[str, np.ndarray], labels: np.ndarray | None) -> dict:
    predicted = outputs[FIRST_LEQ_SECOND].astype(bool)
    p_leq = outputs[P_FIRST_LEQ_SECOND]
    summary = {
        "pairs": len(predicted),
        f"predicted_{FIRST_LEQ_SECOND}": int(predicted.sum()),
        "mean_confidence": float(np.mean(np.maximum(p_leq, 1 - p_leq))),
    }
    if labels is not None:
        errors = {COMPARISON: float(np.mean(predicted != (labels[:, 0] <= labels[:, 1])) * 100)}
        for i, name in enumerate(DIGIT_OUTPUTS):
            if probabilities_key(name) in outputs:
                errors[name] = float(
                    np.mean(np.argmax(outputs[probabilities_key(name)], -1) != labels[:, i]) * 100
                )
        summary["error_percent"] = errors
    return summary


def print_pair(report: dict) -> None:
    for side in ("A", "B"):
        if f"digit_{side}" in report:
            print(f"{side}: digit {report[f'digit_{side}']} (p = {report[f'p_digit_{side}']:.3f})")
        else:
            print(f"{side}: (this model has no digit heads)")
    p = report[P_FIRST_LEQ_SECOND]
    verdict = ("A ≤ B", p) if report[FIRST_LEQ_SECOND] else ("A > B", 1 - p)
    print(f"verdict: {verdict[0]} (p = {verdict[1]:.3f})")


def print_summary(summary: dict) -> None:
    print(
        f"{summary['pairs']} pairs: {summary[f'predicted_{FIRST_LEQ_SECOND}']} predicted A ≤ B, "
        f"mean confidence {summary['mean_confidence']:.3f}"
    )
    for name, value in summary.get("error_percent", {}).items():
        print(f"  {name} error: {value:.2f} %")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.images) == bool(args.pairs):
        raise cli.UsageError("give either two images (IMAGE_A IMAGE_B) or --pairs FILE.npy")
    if args.images and len(args.images) != 2:
        raise cli.UsageError(f"give exactly two images, got {len(args.images)}")
    if args.labels and not args.pairs:
        raise cli.UsageError("--labels goes with --pairs")

    if args.images:
        invert = False if args.no_invert else "auto"
        (a, notes_a), (b, notes_b) = (read_image(path, invert) for path in args.images)
        model = load_model(args.model)
        report = describe_pair(run_model(model, np.stack([a, b])[None]))
        notes = notes_a + notes_b
        if args.json:
            print(json.dumps({**report, "notes": notes}))
        else:
            for note in notes:
                print(f"note: {note}")
            print_pair(report)
        return 0

    pairs = check_pairs(load_array(args.pairs, "pairs"))
    labels = check_labels(load_array(args.labels, "labels"), len(pairs)) if args.labels else None
    model = load_model(args.model)
    summary = summarize_pairs(run_model(model, pairs), labels)
    if args.json:
        print(json.dumps(summary))
    else:
        print_summary(summary)
    return 0


if __name__ == "__main__":
    cli.run_main(main)
