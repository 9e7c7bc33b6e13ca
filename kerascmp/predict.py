"""Predict with an exported model: `python -m kerascmp.predict --model saved_models/main a.png b.png`.

Loads the export alone, so it needs none of the training code: a SavedModel (`tf.saved_model.load`), or
its ONNX or LiteRT conversion (X.onnx in ONNX Runtime, X.tflite in LiteRT; `python -m kerascmp.export`).
Images: PNG, JPEG, BMP or GIF, grayscale or RGB, 28x28 or 14x14 (other sizes are resized to 28x28).
A dark digit on a light background is inverted to MNIST's light-on-dark unless --no-invert.
Arrays: --pairs FILE.npy of shape [N, 2, 14, 14] or [N, 2, 28, 28], raw pixels 0-255, with optional
--labels FILE.npy of digit classes [N, 2] to report error rates.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from kerascmp import cli, files, outputs
from kerascmp.engine import runtime
from kerascmp.names import COMPARISON, DIGIT_OUTPUTS, FIRST_LEQ_SECOND, P_FIRST_LEQ_SECOND, probabilities_key
from kerascmp.serving.inputs import check_labels, check_pairs, chunks, load_array, read_image
from kerascmp.serving.runtimes import (
    OUTPUT_SHAPES,
    SavedModelRunner,
    check_savedmodel_dir,
    format_of,
    open_model,
)


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.predict", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        required=True,
        help="an export: a SavedModel directory (saved_models/main), or X.onnx or X.tflite (kerascmp.export)",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="two images: A and B")
    parser.add_argument("--pairs", help="a .npy of pairs [N, 2, 14, 14] or [N, 2, 28, 28], raw pixels 0-255")
    parser.add_argument("--labels", help="a .npy of the pairs' digit classes [N, 2]; adds error rates")
    parser.add_argument("--no-invert", action="store_true", help="never invert dark-on-light images")
    parser.add_argument(
        "--json", action="store_true", help="machine-readable output; with --pairs, every pair"
    )
    parser.add_argument(
        "--output", metavar="FILE.csv", help="with --pairs: one CSV row per pair (- for standard output)"
    )
    return parser


def load_model(path: str):
    """The model at `path` in its runtime: a SavedModel directory, X.onnx or X.tflite."""
    if format_of(path) == "savedmodel":
        check_savedmodel_dir(Path(path))  # before TensorFlow loads
    runtime.configure_runtime()
    return open_model(path)


def run_model(model, pairs: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 28x28 pairs through a SavedModel's `from_mnist`; any other 28x28 pairs pooled here as that
    graph pools them (kerascmp.data.pool_2x2); 14x14 pairs as they are."""
    if pairs.shape[2:] == (28, 28) and pairs.dtype == np.uint8 and isinstance(model, SavedModelRunner):
        return model.run_mnist(pairs)
    if pairs.shape[2:] == (28, 28):
        from kerascmp.data import pool_2x2

        pairs = np.asarray(pool_2x2(pairs))
    return model.run(np.asarray(pairs, np.float32))


class Tally:
    """The summary of many pairs, added up chunk by chunk."""

    def __init__(self, labels: np.ndarray | None):
        self.labels = labels
        self.pairs = self.predicted_leq = 0
        self.confidence = 0.0
        self.wrong: dict[str, int] = {}

    def add(self, results: dict[str, np.ndarray], start: int) -> None:
        predicted = results[FIRST_LEQ_SECOND].astype(bool)
        p_leq = results[P_FIRST_LEQ_SECOND]
        self.pairs += len(predicted)
        self.predicted_leq += int(predicted.sum())
        self.confidence += float(np.sum(np.maximum(p_leq, 1 - p_leq)))
        if self.labels is None:
            return
        labels = self.labels[start : start + len(predicted)]
        wrong = {COMPARISON: predicted != (labels[:, 0] <= labels[:, 1])}
        for i, name in enumerate(DIGIT_OUTPUTS):
            if probabilities_key(name) in results:
                wrong[name] = np.argmax(results[probabilities_key(name)], -1) != labels[:, i]
        for name, mistakes in wrong.items():
            self.wrong[name] = self.wrong.get(name, 0) + int(mistakes.sum())

    def summary(self) -> dict:
        summary = {
            "pairs": self.pairs,
            f"predicted_{FIRST_LEQ_SECOND}": self.predicted_leq,
            "mean_confidence": self.confidence / self.pairs,
        }
        if self.labels is not None:
            summary["error_percent"] = {name: 100.0 * n / self.pairs for name, n in self.wrong.items()}
        return summary


CSV_HEADER = ("pair", FIRST_LEQ_SECOND, P_FIRST_LEQ_SECOND)  # how a CSV of predict's begins


def is_predict_csv(path: Path) -> bool:
    """Whether `path` is a CSV that predict wrote (its header), so --output may replace it."""
    try:
        with open(path, newline="") as f:
            header = next(csv.reader([f.readline(4096)]), [])
    except (OSError, UnicodeDecodeError):
        return False
    return tuple(header[: len(CSV_HEADER)]) == CSV_HEADER


class CsvRows:
    """One CSV row per pair, streamed to a temporary file and published whole at the end (or not at all);
    to stdout as it goes where the path is `-`."""

    def __init__(self, path: str | None):
        self.path, self.writer, self._file = path, None, None

    def __enter__(self):
        if self.path == outputs.STDOUT:
            self._file = sys.stdout
        elif self.path:
            target = Path(self.path)
            self._file = tempfile.NamedTemporaryFile(  # closed in __exit__
                "w",
                newline="",
                dir=target.parent,
                prefix=outputs.staging_prefix(target),
                suffix=".tmp",
                delete=False,
            )
        return self

    def write(self, row: dict) -> None:
        if self._file is None:
            return
        if self.writer is None:
            self.writer = csv.DictWriter(self._file, list(row), lineterminator="\n")
            self.writer.writeheader()
        self.writer.writerow(row)

    def __exit__(self, kind, error, traceback):
        if self._file is None or self._file is sys.stdout:
            return
        try:
            self._file.close()
            if kind is None:
                files.publish(self._file.name, self.path)
        except OSError as err:
            cause = cli.storage_cause(err) or err.strerror
            raise cli.StorageError(
                f"cannot write --output {self.path} ({cause}); nothing was written there"
            ) from None
        finally:
            Path(self._file.name).unlink(missing_ok=True)


# ---- reports ------------------------------------------------------------------------------------------


def checked(results: dict[str, np.ndarray], pairs: int, start: int = 0) -> dict[str, np.ndarray]:
    """Refuse outputs no kerascmp export gives: of other shapes than the signature's (a foreign model with
    kerascmp's names), NaN or infinite (a diverged model), or probabilities outside [0, 1]."""
    for name, values in results.items():
        values = np.asarray(values)
        expected = (pairs, *OUTPUT_SHAPES.get(name, values.shape[1:]))
        if values.shape != expected:
            raise cli.UsageError(
                f"the model's {name} has shape {values.shape} for {pairs} pair(s), not {expected}; it is not "
                "a kerascmp export: export it with python -m kerascmp.train"
            )
        bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        if bad.any():
            raise cli.UsageError(
                f"the model's {name} is NaN or infinite (pair {start + int(np.argmax(bad))}): it diverged "
                "in training; retrain it with a lower --lr and export again"
            )
        if name != FIRST_LEQ_SECOND and not ((values >= 0) & (values <= 1)).all():
            raise cli.UsageError(
                f"the model's {name} holds {float(values[(values < 0) | (values > 1)][0]):g}, which is no "
                "probability; it is not a kerascmp export: export it with python -m kerascmp.train"
            )
    return results


def describe_pair(results: dict[str, np.ndarray], i: int = 0) -> dict:
    p_leq = float(results[P_FIRST_LEQ_SECOND][i])
    report = {FIRST_LEQ_SECOND: bool(results[FIRST_LEQ_SECOND][i]), P_FIRST_LEQ_SECOND: p_leq}
    for side, name in zip("AB", map(probabilities_key, DIGIT_OUTPUTS)):
        if name in results:
            probabilities = results[name][i]
            report[f"digit_{side}"] = int(np.argmax(probabilities))
            report[f"p_digit_{side}"] = float(np.max(probabilities))
    return report


def print_pair(report: dict) -> None:
    for side in ("A", "B"):
        if f"digit_{side}" in report:
            print(f"{side}: digit {report[f'digit_{side}']} (p = {report[f'p_digit_{side}']:.3f})")
        else:
            print(f"{side}: (this model has no digit heads)")
    p = report[P_FIRST_LEQ_SECOND]
    verdict = "A ≤ B" if report[FIRST_LEQ_SECOND] else "A > B"
    print(f"verdict: {verdict} (P(A ≤ B) = {p:.3f})")  # the JSON's p_first_leq_second, whichever the verdict


def print_summary(summary: dict, file=None) -> None:
    print(
        f"{summary['pairs']} pairs: {summary[f'predicted_{FIRST_LEQ_SECOND}']} predicted A ≤ B, "
        f"mean confidence {summary['mean_confidence']:.3f}",
        file=file,
    )
    for name, value in summary.get("error_percent", {}).items():
        print(f"  {name} error: {value:.2f} %", file=file)


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """The CSV (kerascmp.outputs), and what it must never replace: the pairs, the labels, the model."""
    csv_file = outputs.Output("--output", args.output, ours=is_predict_csv, what="a predict CSV", stdout=True)
    inputs = [
        outputs.Input(flag, given) for flag, given in (("--pairs", args.pairs), ("--labels", args.labels))
    ]
    return [csv_file], [*inputs, outputs.Input("--model", args.model)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.images) == bool(args.pairs):
        raise cli.UsageError("give either two images (IMAGE_A IMAGE_B) or --pairs FILE.npy")
    if args.images and len(args.images) != 2:
        raise cli.UsageError(f"give exactly two images, got {len(args.images)}")
    if (args.labels or args.output) and not args.pairs:
        raise cli.UsageError("--labels and --output go with --pairs")
    if args.json and args.output == outputs.STDOUT:
        raise cli.UsageError("--output - and --json both write to standard output; give --output a file")

    if args.images:
        invert = False if args.no_invert else "auto"
        (a, notes_a), (b, notes_b) = (read_image(path, invert) for path in args.images)
        model = load_model(args.model)
        report = describe_pair(checked(run_model(model, np.stack([a, b])[None]), 1))
        notes = notes_a + notes_b
        if args.json:
            print(json.dumps({**report, "notes": notes}))
        else:
            for note in notes:
                print(f"note: {note}")
            print_pair(report)
        return 0

    outputs.check(*declared_outputs(args))  # before any input is read
    pairs = check_pairs(load_array(args.pairs, "pairs"))
    labels = check_labels(load_array(args.labels, "labels"), len(pairs)) if args.labels else None
    model = load_model(args.model)
    tally = Tally(labels)
    if args.json:  # one JSON object on one line, its per-pair list streamed: memory stays flat
        sys.stdout.write('{"per_pair": [')
    with CsvRows(args.output) as csv_rows:
        for start, chunk in chunks(pairs):
            results = checked(run_model(model, chunk), len(chunk), start)
            tally.add(results, start)
            for i in range(len(chunk)):
                row = {"pair": start + i, **describe_pair(results, i)}
                if labels is not None:
                    row["label_A"], row["label_B"] = (int(c) for c in labels[start + i])
                csv_rows.write(row)
                if args.json:
                    sys.stdout.write(("" if start + i == 0 else ", ") + json.dumps(row))
    summary = tally.summary()
    if args.json:
        print("], " + json.dumps(summary)[1:])
    else:  # beside a CSV on stdout, on stderr
        print_summary(summary, sys.stderr if args.output == outputs.STDOUT else None)
    if args.output and args.output != outputs.STDOUT:
        print(f"one row per pair written to {args.output}")
    return 0


if __name__ == "__main__":
    cli.run_main(main)
