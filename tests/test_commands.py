"""The commands behave as a user expects: help on every option, a note where a study tests no claim, and
the libraries' start-up and retracing noise kept off the screen."""

import importlib
import logging
import os

from test_output_matrix import commands

from conftest import run_in_process


def test_every_option_of_every_command_has_help():
    for module in commands():
        for action in importlib.import_module(module).build_parser()._actions:
            assert action.help, f"{module} {action.option_strings or action.dest} has no help"


def test_precision_help_says_this_machines_default():
    from kerascmp import defaults

    for module in ("kerascmp.train", "kerascmp.study", "tuning.search"):
        parser = importlib.import_module(module).build_parser()
        (precision,) = [a for a in parser._actions if "--precision" in a.option_strings]
        assert (
            precision.default == defaults.PRECISION
            and f"this machine: {defaults.PRECISION}" in precision.help
        )


def test_a_study_too_short_for_claims_says_so_and_quiet_prints_no_epochs(tmp_path, capsys):
    args = ["--variants", "main,no_sharing", "--rounds", "1", "--epochs", "1", "--pairs", "100", "--quiet"]
    code, out, err = run_in_process("kerascmp.study", *args, "--output-dir", str(tmp_path), capsys=capsys)
    assert code == 0, err
    assert "note: no claim could be tested" in out and not (tmp_path / "claims.csv").exists()
    assert "epoch 1/1" not in out  # its round lines only


def test_the_litert_banner_is_filtered_and_other_lines_pass(capfd):
    from kerascmp.engine.runtime import LITERT_BANNER, filtered_stderr

    with filtered_stderr(LITERT_BANNER):
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nsomething else\n")
    err = capfd.readouterr().err
    assert "XNNPACK" not in err and "something else" in err


def test_retracing_warnings_are_filtered_and_other_warnings_pass():
    import tensorflow as tf

    from kerascmp.engine import runtime

    runtime.configure_runtime()
    runtime.configure_runtime()  # idempotent: one filter
    logger = tf.get_logger()
    assert sum(isinstance(f, runtime._NoRetracingWarnings) for f in logger.filters) == 1

    def passes(message: str) -> bool:
        return logger.filter(logging.LogRecord("tensorflow", logging.WARNING, "", 0, message, (), None))

    assert not passes("5 out of the last 5 calls to <function f> triggered tf.function retracing.")
    assert passes("something else went wrong")
