"""TensorBoard logs of `study` and `train`: the tags, one value per epoch, and the numbers of rounds.jsonl."""

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from kerascmp import study, train
from kerascmp.names import COMPARISON, PAIR_OUTPUTS, TEST, error_key


def scalars(run_dir) -> dict[str, list[tuple[int, float]]]:
    import tensorflow as tf

    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    return {
        tag: [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]
        for tag in events.Tags()["tensors"]
        if not tag.startswith("_hparams_")
    }


def session_hparams(run_dir) -> dict:
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    return {
        name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
        for name, value in data.session_start_info.hparams.items()
    }


def test_a_tiny_study_logs_every_round_as_rounds_jsonl_has_it(tmp_path):
    with pytest.raises(SystemExit) as done:
        study.cli.run_main(
            study.main,
            [
                "--variants",
                "main,separate",
                "--rounds",
                "2",
                "--epochs",
                "6",
                "--pairs",
                "100",
                "--output-dir",
                str(tmp_path),
            ],
        )
    assert done.value.code == 0
    records = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    assert len(records) == 4
    root = tmp_path / "tensorboard"
    assert list(root.glob("events.out.tfevents.*"))  # the HParams dashboard's columns
    for record in records:
        run_dir = root / record["variant"] / f"round_{record['round'] + 1:02d}"
        logged = scalars(run_dir)
        every = record["history_val_every"]
        assert set(record["history"]) <= set(logged)
        for key, values in record["history"].items():
            step = every if key.startswith("val_") else 1
            assert [s for s, _ in logged[key]] == [step * (i + 1) for i in range(len(values))], key
            assert [v for _, v in logged[key]] == pytest.approx(values, abs=1e-4), key
        for output in PAIR_OUTPUTS:
            value = record["errors"][error_key(TEST, output)]
            if value is not None:
                assert logged[error_key(TEST, output)] == [(6, pytest.approx(value, abs=1e-4))]
        hparams = session_hparams(run_dir)
        assert hparams["variant"] == record["variant"] and hparams["seed"] == record["seed"]
        assert hparams["learning_rate"] == pytest.approx(record["hyperparameters"]["learning_rate"])
        assert record["tensorboard_s"] < 0.05 * record["wall_s"] + 0.5  # cheap even on 6 tiny epochs
    # every output the variant trains, per epoch: losses and errors; stage 1's digit curve for separate
    main_tags = set(scalars(root / "main" / "round_01"))
    assert {
        "comparison_error",
        "comparison_loss",
        "digit1_error",
        "digit2_loss",
        "val_comparison_error",
    } <= main_tags
    assert {"digit_error", "digit_loss", "comparison_error"} <= set(scalars(root / "separate" / "round_01"))


def test_train_logs_each_round_when_asked(tmp_path):
    results = tmp_path / "results.json"
    with pytest.raises(SystemExit) as done:
        train.cli.run_main(
            train.main,
            [
                "--variant",
                "fc_baseline",
                "--epochs",
                "4",
                "--pairs",
                "100",
                "--rounds",
                "2",
                "--no-export",
                "--quiet",
                "--tensorboard",
                str(tmp_path / "tb"),
                "--results-json",
                str(results),
            ],
        )
    assert done.value.code == 0
    rounds = json.loads(results.read_text())["rounds"]
    for r, stored in enumerate(rounds, start=1):
        logged = scalars(tmp_path / "tb" / "fc_baseline" / f"round_{r:02d}")
        assert [s for s, _ in logged["comparison_error"]] == [1, 2, 3, 4]
        assert logged[error_key(TEST, COMPARISON)][0][1] == pytest.approx(
            stored["errors"][error_key(TEST, COMPARISON)]
        )
