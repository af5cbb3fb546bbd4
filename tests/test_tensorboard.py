"""TensorBoard: a tiny run's sample grids as images and its hyper-parameters with the
final metrics, and ``evaluate --tensorboard`` adding the figures, read back from the
event files with TensorBoard's own reader."""

from __future__ import annotations

import json

import pytest
import torch

from intergan.attributes import DEFAULT_ATTRS
from intergan.cli import main
from intergan.config import Config, DataConfig, TrainConfig, model_config
from intergan.data.synthfaces.export import write_dataset
from intergan.models.judge import JudgeArch, build_judge

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
SIZE, STEPS = 32, 4


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "sf32"
    return write_dataset(out, n=24, size=SIZE, seed=0, split=(0.7, 0.15, 0.15), workers=1)


@pytest.fixture(scope="module")
def run_dir(synth, tmp_path_factory):
    """A tiny run of 4 steps with a sample grid every 2."""
    from intergan.training import train

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("run") / "tiny"
    cfg = Config(
        model=model_config("tiny", img_size=SIZE),
        data=DataConfig(path=str(synth)),
        train=TrainConfig(steps=STEPS, batch_size=4, device="cpu", sample_every=2, log_every=2),
    )
    train(cfg, run)
    return run


def events(run_dir):
    acc = event_accumulator.EventAccumulator(
        str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0, "tensors": 0}
    )
    return acc.Reload()


def test_sample_grids_are_images_at_every_sample_step(run_dir):
    acc = events(run_dir)
    assert "samples" in acc.Tags()["images"]
    images = acc.Images("samples")
    assert [im.step for im in images] == [2, 4]
    # the same picture as the PNG written beside it (header row + 4 rows of 32 px)
    from io import BytesIO

    from PIL import Image

    shown = Image.open(BytesIO(images[-1].encoded_image_string))
    assert shown.size == Image.open(run_dir / "samples" / "step_0000004.png").size


def test_hparams_hold_the_config_and_the_final_metrics(run_dir):
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = events(run_dir)
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    assert hp["model.preset"].string_value == "tiny"
    assert hp["train.steps"].number_value == STEPS and hp["train.batch_size"].number_value == 4
    exp = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    metrics = {m.name.tag for m in exp.experiment.metric_infos}
    assert "hparams/loss_d" in metrics or any(t.startswith("hparams/") for t in metrics)
    assert "eval/test/editing_accuracy_mean" in metrics
    final = [t for t in acc.Tags()["scalars"] if t.startswith("hparams/")]
    assert final and all(acc.Scalars(t)[-1].step == STEPS for t in final)
    stats = (run_dir / "stats.jsonl").read_text().splitlines()[-1]
    name = final[0].removeprefix("hparams/")
    assert f'"{name}": ' in stats


def test_evaluate_logs_its_figures_to_the_runs_tensorboard(run_dir, synth, tmp_path, capsys):
    torch.manual_seed(0)
    judge = build_judge(list(DEFAULT_ATTRS), SIZE, JudgeArch(width=4)).save(tmp_path / "j")
    argv = ["evaluate", "--model", str(run_dir), "--data", str(synth), "--judge", str(judge)]
    argv += ["--n", "2", "--out", str(tmp_path / "ev"), "--device", "cpu", "--no-progress"]
    assert main([*argv, "--tensorboard"]) == 0
    acc = events(run_dir)
    scalars = acc.Tags()["scalars"]
    assert "eval/test/editing_accuracy_mean" in scalars and "eval/test/preservation/Bald" in scalars
    point = acc.Scalars("eval/test/editing_accuracy_mean")[-1]
    figures = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert point.step == STEPS and point.value == pytest.approx(figures["editing_accuracy_mean"])
    assert "eval/test/report/text_summary" in acc.Tags()["tensors"]  # the markdown report
    # an export folder is not a run: the user is asked which run to log to, before any work
    from intergan.models.export import export_run

    exp = export_run(run_dir, tmp_path / "exp")
    capsys.readouterr()
    assert main([*argv[:2], str(exp), *argv[3:], "--tensorboard"]) == 2
    assert "--tensorboard RUN" in capsys.readouterr().err
