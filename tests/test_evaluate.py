"""The evaluation protocol end to end on tiny untrained models and a tiny SynthFaces export."""

from __future__ import annotations

import copy
import json
import math
import types

import pytest
import torch

from intergan.attributes import CONFLICTS, DEFAULT_ATTRS
from intergan.cli import main
from intergan.config import Config, model_config
from intergan.data import build_dataset
from intergan.data.synthfaces import region_mask
from intergan.data.synthfaces.export import write_dataset
from intergan.errors import UserError
from intergan.evaluation.evaluate import (
    EvalSettings,
    allowed_pairs,
    check_compatible,
    evaluate_generator,
)
from intergan.evaluation.ground_truth import open_ground_truth
from intergan.evaluation.report import markdown, write_report
from intergan.images import to_model, to_uint8
from intergan.models import build_generator
from intergan.models.judge import JudgeArch, build_judge

SIZE = 32


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A 40-image SynthFaces export at 32 px: 32 train, 4 valid, 4 test."""
    out = tmp_path_factory.mktemp("synth") / "sf32"
    return write_dataset(out, n=40, size=SIZE, seed=0, split=(0.8, 0.1, 0.1), workers=1)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    cfg = Config(model=model_config("tiny", img_size=SIZE))
    return build_generator(cfg.model), cfg


@pytest.fixture(scope="module")
def judge():
    torch.manual_seed(0)
    return build_judge(list(DEFAULT_ATTRS), SIZE, JudgeArch(width=4))


@pytest.fixture(scope="module")
def report(synth, tiny, judge):
    G, cfg = tiny
    ds = build_dataset(synth, cfg.model.attrs, "test", SIZE)
    gt, note = open_ground_truth(synth, "test", cfg.model.attrs, SIZE, ds)
    assert gt is not None, note
    settings = EvalSettings(n=3, batch_size=2, progress=False, seed=1)
    return evaluate_generator(G, cfg, ds, judge, settings, "cpu", gt)


def test_report_has_every_metric_per_attribute(report, tmp_path):
    attrs = list(DEFAULT_ATTRS)
    assert report["n_images"] == 3 and report["attrs"] == attrs
    for key in ("editing_accuracy", "preservation", "judge_accuracy_real"):
        assert list(report[key]) == attrs
        assert all(0 <= v <= 1 for v in report[key].values())
    assert report["editing_accuracy_mean"] == pytest.approx(
        sum(report["editing_accuracy"].values()) / len(attrs)
    )
    assert 0 <= report["multi_attribute_accuracy"] <= 1
    assert report["frechet"]["label"] == "FD (judge features)"
    assert report["frechet"]["n_real"] == 3 and report["frechet"]["n_edited"] == 3 * len(attrs)
    assert math.isfinite(report["frechet"]["value"]) and report["frechet"]["value"] >= -1e-6
    assert 0 < report["reconstruction"]["psnr"] < 60 and -1 <= report["reconstruction"]["ssim"] <= 1
    gt = report["ground_truth"]
    assert list(gt["per_attr"]) == attrs
    for v in gt["per_attr"].values():
        assert set(v) == {"psnr", "ssim", "psnr_outside", "ssim_outside"}
    assert gt["source_render_psnr"] == 120.0  # the export is at 32 px: exact re-render
    json_path, md_path = write_report(report, tmp_path)
    loaded = json.loads(json_path.read_text())  # strict JSON: no NaN or Infinity
    assert loaded["editing_accuracy"] == report["editing_accuracy"]
    md = md_path.read_text()
    for a in attrs:
        assert f"| {a} |" in md
    assert "FD (judge features)" in md and "GT PSNR outside" in md
    assert " ± " in md and "one standard error over the test images" in md


def test_standard_errors_come_with_every_mean(report):
    se, n = report["standard_errors"], report["n_images"]
    for a in report["attrs"]:
        p = report["editing_accuracy"][a]  # a share over n images: binomial
        assert se["editing_accuracy"][a] == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)))
        assert se["preservation"][a] >= 0
    for key in ("editing_accuracy_mean", "preservation_mean", "multi_attribute_accuracy"):
        assert 0 <= se[key] <= 0.5
    assert se["reconstruction"]["psnr"] > 0 and se["reconstruction"]["ssim"] > 0
    gt = se["ground_truth"]
    assert set(gt) == {"psnr", "psnr_outside", "ssim", "ssim_outside", "per_attr"}
    assert gt["psnr"] > 0 and list(gt["per_attr"]) == report["attrs"]


class _Constant(torch.nn.Module):
    """A 'generator' whose every output is one fixed image."""

    def __init__(self, image: torch.Tensor):
        super().__init__()
        self.image = image

    def forward(self, x, target, source):
        return types.SimpleNamespace(edited=self.image.expand_as(x))


def test_preservation_by_attribute_splits_by_the_real_images_value(synth, tiny, judge):
    # A model that always draws the same face keeps attribute j exactly on the images
    # where the real face already had the drawn face's value of j: "kept when on" is 1
    # if the judge calls j on in that face, else 0, and "kept when off" the reverse.
    _, cfg = tiny
    ds = build_dataset(synth, cfg.model.attrs, "test", SIZE)
    real = to_model(torch.stack([ds[k][0] for k in range(4)]))
    judge = copy.deepcopy(judge)  # thresholds between the real faces: both values occur
    with torch.no_grad():
        judge.net.head.bias -= judge.logits(real).median(dim=0).values
    face = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3)) * 2 - 1
    drawn = judge.predict(to_model(to_uint8(face)))[0] > 0.5
    settings = EvalSettings(n=4, batch_size=3, progress=False)
    r = evaluate_generator(_Constant(face), cfg, ds, judge, settings, "cpu")
    held, both = r["preservation_by_attribute"], 0
    assert list(held) == cfg.model.attrs
    for j, a in enumerate(cfg.model.attrs):
        h = held[a]
        assert h["images_on"] + h["images_off"] <= 4
        if h["images_on"]:
            assert h["on"] == float(drawn[j]), a
        if h["images_off"]:
            assert h["off"] == float(not drawn[j]), a
        both += bool(h["images_on"] and h["images_off"])
    assert both  # some attribute was seen both ways
    assert "kept when on" in markdown(r)
    assert set(r["standard_errors"]["preservation_by_attribute"]["Bald"]) == {"on", "off"}


def test_evaluation_is_deterministic_and_independent_of_batching(synth, tiny, judge, report):
    G, cfg = tiny
    ds = build_dataset(synth, cfg.model.attrs, "test", SIZE)
    gt, _ = open_ground_truth(synth, "test", cfg.model.attrs, SIZE, ds)
    settings = EvalSettings(n=3, batch_size=2, progress=False, seed=1)
    again = evaluate_generator(G, cfg, ds, judge, settings, "cpu", gt)
    drop = ("seconds",)
    assert {k: v for k, v in again.items() if k not in drop} == {
        k: v for k, v in report.items() if k not in drop
    }
    settings.batch_size = 3  # one batch instead of two: the same numbers, up to float
    whole = evaluate_generator(G, cfg, ds, judge, settings, "cpu", gt)  # rounding in convs
    for key in ("psnr", "ssim"):
        assert whole["reconstruction"][key] == pytest.approx(report["reconstruction"][key], 1e-3)
        assert whole["ground_truth"][key] == pytest.approx(report["ground_truth"][key], 1e-3)
    assert whole["frechet"]["value"] == pytest.approx(report["frechet"]["value"], abs=1e-4)


def test_ground_truth_re_renders_the_data_and_masks_the_edited_region(synth):
    attrs = list(DEFAULT_ATTRS)
    ds = build_dataset(synth, attrs, "test", SIZE)
    gt, _ = open_ground_truth(synth, "test", attrs, SIZE, ds)
    images = torch.stack([ds[i][0] for i in range(len(ds))])
    labels = torch.stack([ds[i][1] for i in range(len(ds))])
    assert torch.equal(gt.render(range(len(ds)), labels), images)
    changed = torch.zeros_like(labels, dtype=torch.bool)
    k, h = attrs.index("Eyeglasses"), attrs.index("Black_Hair")
    changed[:, k] = True
    changed[0, h] = True
    outside = gt.outside(range(len(ds)), changed)
    glasses = torch.from_numpy(region_mask(gt.identities[1], "Eyeglasses", SIZE))
    assert torch.equal(outside[1], ~glasses)
    hair = torch.from_numpy(region_mask(gt.identities[0], "Black_Hair", SIZE))
    expected = ~(torch.from_numpy(region_mask(gt.identities[0], "Eyeglasses", SIZE)) | hair)
    assert torch.equal(outside[0], expected)


def test_a_prepared_cache_of_an_export_keeps_its_ground_truth(tmp_path, synth):
    from intergan.data.prepare import prepare

    cache = tmp_path / "sf32.cache"
    prepare(synth, cache, SIZE, workers=1, log=lambda _: None)
    attrs = list(DEFAULT_ATTRS)
    ds = build_dataset(cache, attrs, "test", SIZE)
    gt, note = open_ground_truth(cache, "test", attrs, SIZE, ds)
    assert gt is not None, note
    labels = torch.stack([ds[i][1] for i in range(len(ds))])
    assert torch.equal(
        gt.render(range(len(ds)), labels), torch.stack([ds[i][0] for i in range(len(ds))])
    )
    # without the export it came from, the cache has no ground truth, and says why
    moved = tmp_path / "elsewhere"
    synth.rename(moved)
    try:
        gt, note = open_ground_truth(cache, "test", attrs, SIZE, ds)
        assert gt is None and "not a SynthFaces export" in note
    finally:
        moved.rename(synth)


def test_no_ground_truth_without_identities(tmp_path, synth):
    ds = build_dataset(synth, None, "test", SIZE)
    gt, note = open_ground_truth(tmp_path, "test", list(DEFAULT_ATTRS), SIZE, ds)
    assert gt is None and "not a SynthFaces export" in note


def test_random_pairs_never_tie_conflicting_attributes():
    attrs = list(DEFAULT_ATTRS)
    pairs = allowed_pairs(attrs)
    assert pairs and all(i < j for i, j in pairs)
    for i, j in pairs:
        assert attrs[j] not in CONFLICTS.get(attrs[i], ())
        assert attrs[i] not in CONFLICTS.get(attrs[j], ())
    assert (attrs.index("Mustache"), attrs.index("No_Beard")) not in pairs
    assert (attrs.index("Bald"), attrs.index("Male")) in pairs


def test_judge_must_match_the_model(tiny):
    _, cfg = tiny
    other = build_judge(["Male", "Young"], SIZE, JudgeArch(width=4))
    with pytest.raises(UserError, match=r"judge knows attributes Male, Young.*edits Bald"):
        check_compatible(cfg, other)
    bigger = build_judge(list(DEFAULT_ATTRS), 64, JudgeArch(width=4))
    with pytest.raises(UserError, match=r"judge works at 64 px but --model at 32 px"):
        check_compatible(cfg, bigger)
    superset = build_judge(list(reversed(DEFAULT_ATTRS)), SIZE, JudgeArch(width=4))
    cols = check_compatible(cfg, superset)
    assert [superset.attrs[c] for c in cols] == cfg.model.attrs


def test_markdown_says_why_ground_truth_is_missing(report):
    r = dict(report, ground_truth=None, source={"ground_truth_note": "no identities.jsonl"})
    md = markdown(r)
    assert "ground truth: skipped (no identities.jsonl)" in md and "GT PSNR" not in md


@pytest.fixture(scope="module")
def run_dir(synth, tmp_path_factory):
    """A real run folder: the tiny model after one training step."""
    from intergan.config import DataConfig, TrainConfig
    from intergan.training import train

    run = tmp_path_factory.mktemp("run") / "tiny"
    cfg = Config(
        model=model_config("tiny", img_size=SIZE),
        data=DataConfig(path=str(synth)),
        train=TrainConfig(steps=1, batch_size=4, device="cpu"),
    )
    train(cfg, run)
    return run


@pytest.fixture(scope="module")
def judge_dir(judge, tmp_path_factory):
    return judge.save(tmp_path_factory.mktemp("judge") / "j32")


def _evaluate(run_dir, synth, judge_dir, out, *extra):
    return main([
        "evaluate", "--model", str(run_dir), "--data", str(synth), "--judge", str(judge_dir),
        "--n", "2", "--out", str(out), "--device", "cpu", "--no-progress", *extra,
    ])  # fmt: skip


def test_cli_evaluates_a_run_and_writes_the_report(run_dir, synth, judge_dir, tmp_path, capsys):
    assert _evaluate(run_dir, synth, judge_dir, tmp_path / "ev", "--high-accuracy") == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert result["source"]["variant"] == "intergan" and result["n_images"] == 2
    assert result["settings"]["high_accuracy"] is True and result["ground_truth"] is not None
    assert (tmp_path / "ev" / "metrics.md").read_text().strip() in printed
    for a in DEFAULT_ATTRS:
        assert f"| {a} |" in printed


def test_cli_bad_inputs_name_the_flag_and_both_sides(run_dir, synth, tmp_path, capsys):
    assert _evaluate(run_dir, synth, tmp_path / "no_judge", tmp_path / "ev") == 2
    assert "--judge" in capsys.readouterr().err
    few = build_judge(["Male", "Young"], SIZE, JudgeArch(width=4)).save(tmp_path / "few")
    assert _evaluate(run_dir, synth, few, tmp_path / "ev") == 2
    err = capsys.readouterr().err
    assert "judge knows attributes Male, Young" in err and f"--model {run_dir} edits Bald" in err
    big = build_judge(list(DEFAULT_ATTRS), 64, JudgeArch(width=4)).save(tmp_path / "big")
    assert _evaluate(run_dir, synth, big, tmp_path / "ev") == 2
    assert "judge works at 64 px but --model" in capsys.readouterr().err
    assert _evaluate(run_dir, tmp_path / "no_data", big, tmp_path / "ev") == 2
    assert "--data" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists()
