"""Convert an export for other runtimes: `python -m kerascmp.export --model saved_models/X --format onnx`.

`--format onnx` writes `saved_models/X.onnx` (tf2onnx; run by ONNX Runtime), `--format tflite` writes
`saved_models/X.tflite` (the TFLite converter; run by LiteRT), both from the SavedModel's float32
`serving_default` signature. Each is checked against the SavedModel on 1000 MNIST-test pairs before it
is written (kerascmp.serving.convert); `python -m kerascmp.predict --model X.onnx` then runs it.
"""

from __future__ import annotations

from pathlib import Path

from kerascmp import cli, outputs
from kerascmp.engine import runtime
from kerascmp.serving.convert import CONVERTED, check_output, convert, default_output, output_of
from kerascmp.serving.runtimes import check_savedmodel_dir


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m kerascmp.export", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help="an exported SavedModel directory, e.g. saved_models/main"
    )
    parser.add_argument("--format", required=True, choices=CONVERTED, help="the runtime's format")
    parser.add_argument(
        "--output", help="the file to write (default: beside the SavedModel, X.onnx or X.tflite)"
    )
    return parser


def declared_outputs(args) -> tuple[list[outputs.Output], list[outputs.Input]]:
    """The conversion this command writes (kerascmp.outputs), and the SavedModel it reads."""
    output = Path(args.output) if args.output else default_output(args.model, args.format)
    return [output_of(output, args.format)], [outputs.Input("--model", args.model)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    model_dir = Path(args.model)
    output = Path(args.output) if args.output else default_output(model_dir, args.format)
    check_output(output, model_dir, args.format)  # before TensorFlow loads: bad paths fail at once
    check_savedmodel_dir(model_dir)
    print(f"converting {model_dir}/ to {args.format} and checking it against the SavedModel ...", flush=True)
    runtime.configure_runtime()
    print(convert(model_dir, args.format, output).describe())
    return 0


if __name__ == "__main__":
    cli.run_main(main)
