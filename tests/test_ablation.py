"""`intergan bench ablation`: trains, evaluates, tabulates; resumable in time-limited chunks."""

from __future__ import annotations

import json

import pytest

from intergan.bench.ablation import AblationOptions, latest_step
from intergan.cli import main
from intergan.data.synthfaces.export import write_dataset


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "sf32"
    return write_dataset(out, n=40, size=32, seed=0, split=(0.8, 0.1, 0.1), workers=1)


def _args(synth, tmp_path, *extra, variants="intergan,attgan"):
    return [
        "bench", "ablation", "--data", str(synth), "--steps", "4",
        "--variants", variants, "--preset", "tiny", "--size", "32",
        "--batch-size", "4", "--judge-steps", "2", "--eval-n", "2", "--figure-n", "1",
        "--out", str(tmp_path / "runs"), "--docs", str(tmp_path / "docs"),
        "--device", "cpu", "--no-progress", *extra,
    ]  # fmt: skip


def test_variants_share_everything_but_the_generator(synth):
    opts = AblationOptions(data=str(synth), steps=10, preset="tiny", size=32)
    configs = [opts.config(v).to_dict() for v in opts.variants]
    for c in configs:
        # saved configs name the bottleneck side; AttGAN has none of its own (n_down)
        side = c["model"].pop("bottleneck")
        assert side == (0 if c["model"].pop("variant") == "attgan" else 8)
    assert all(c == configs[0] for c in configs)
    assert [opts.config(v).model.variant for v in opts.variants] == opts.variants


def test_the_recipe_overrides_reach_every_variant_and_bind_the_runs(synth, tmp_path, capsys):
    recipe = ["train.n_d_warmup=2", "train.ema=0.99", "train.lr_decay_at=0.75"]
    opts = AblationOptions(data=str(synth), steps=8, preset="tiny", size=32, overrides=recipe)
    for v in opts.variants:
        t = opts.config(v).train
        assert (t.n_d_warmup, t.ema, t.lr_decay_at, t.steps) == (2, 0.99, 0.75, 8)
    # the ablation varies these itself
    assert main(_args(synth, tmp_path, "--set", "model.variant=attgan")) == 2
    assert "the ablation sets model.variant itself" in capsys.readouterr().err
    assert main(_args(synth, tmp_path, "--set", "train.bogus=1")) == 2
    assert "train.bogus" in capsys.readouterr().err
    # a run started with one recipe is not continued with another
    assert main(_args(synth, tmp_path, "--set", "train.n_d_warmup=2", "--time-budget", "0")) == 3
    capsys.readouterr()
    assert main(_args(synth, tmp_path, "--set", "train.n_d_warmup=3")) == 2
    err = capsys.readouterr().err
    assert "overrides ['train.n_d_warmup=2']" in err and "a new --out" in err
    assert "intergan: train.n_d_warmup: checkpoint 2, now 3" in err
    # items that only write out what the runs were trained with (a default spelled
    # out, as after a default changes) continue them, and are recorded
    same = ("--set", "train.n_d_warmup=2", "--set", "train.ema=0.999", "--time-budget", "0")
    assert main(_args(synth, tmp_path, *same)) == 3
    state = json.loads((tmp_path / "runs" / "ablation.json").read_text())
    assert state["options"]["overrides"] == ["train.n_d_warmup=2", "train.ema=0.999"]


def test_bad_options_are_user_errors(synth, tmp_path, capsys):
    assert main(_args(synth, tmp_path, variants="intergan,stylegan")) == 2
    assert "--variants intergan,stylegan" in capsys.readouterr().err
    missing = _args(synth, tmp_path)
    missing[missing.index("--data") + 1] = str(tmp_path / "nowhere")
    assert main(missing) == 2 and "--data" in capsys.readouterr().err


def test_ablation_runs_in_chunks_and_writes_the_table(synth, tmp_path, capsys):
    runs = tmp_path / "runs"
    # A spent time budget: the first variant trains one step past the request, then stops.
    assert main(_args(synth, tmp_path, "--time-budget", "0")) == 3
    out = capsys.readouterr().out
    assert "run the same command again" in out
    stopped_at = latest_step(runs / "intergan")
    assert 0 < stopped_at < 4 and latest_step(runs / "attgan") == 0
    assert not (tmp_path / "docs" / "results.md").exists()
    # Again without a budget: resumes, finishes both variants, writes the table.
    assert main(_args(synth, tmp_path)) == 0
    out = capsys.readouterr().out
    assert f"intergan: training from step {stopped_at} to 4" in out
    assert "training the judge" not in out  # trained once, then reused
    assert latest_step(runs / "intergan") == 4 and latest_step(runs / "attgan") == 4
    results = (tmp_path / "docs" / "results.md").read_text()
    for row in ("| InterGAN |", "| AttGAN |", "FD (judge features)", "GT PSNR outside"):
        assert row in results
    assert "images/ablation.png" in results and (tmp_path / "docs/images/ablation.png").is_file()
    raw = json.loads((runs / "results.json").read_text())
    assert set(raw["results"]) == {"intergan", "attgan"}
    assert raw["results"]["intergan"]["source"]["step"] == 4
    for v in ("intergan", "attgan"):  # per variant: steps trained, wall time, every metric
        assert raw["variants"][v]["generator_steps"] == 4
        assert raw["variants"][v]["train_seconds"] > 0 and raw["variants"][v]["eval_seconds"] >= 0
    assert " ± " in results and "Standard error over the test images" in results
    # The reading of the numbers written by hand between the markers survives a rerun.
    mine = "InterGAN leads on nothing at 4 steps."
    marker = "(Not written yet"
    assert marker in results
    start = results.index(marker)
    end = results.index("<!-- end of analysis -->")
    (tmp_path / "docs" / "results.md").write_text(results[:start] + mine + "\n" + results[end:])
    # A third run has nothing left to do: no training, no evaluation.
    assert main(_args(synth, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "training" not in out and "evaluating" not in out
    again = (tmp_path / "docs" / "results.md").read_text()
    assert mine in again and marker not in again and again.count("## What the numbers show") == 1
    # A report from before standard errors were recorded is evaluated again.
    report = runs / "attgan" / "eval_test" / "metrics.json"
    old = json.loads(report.read_text())
    del old["standard_errors"]
    report.write_text(json.dumps(old))
    assert main(_args(synth, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "attgan: evaluating step 4" in out and "intergan: evaluating" not in out
    redone = json.loads(report.read_text())
    assert "standard_errors" in redone
    # the evaluation time is the new evaluation's, not the sum of both
    state = json.loads((runs / "ablation.json").read_text())
    assert state["variants"]["attgan"]["eval_seconds"] == pytest.approx(redone["seconds"], abs=0.1)


def test_the_table_goes_to_the_run_folder_unless_docs_is_given(synth, tmp_path, monkeypatch):
    """Run from the repository, the default once replaced the project's docs/results.md."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.md").write_text("the project's own results")
    argv = _args(synth, tmp_path, variants="intergan")
    i = argv.index("--docs")
    del argv[i : i + 2]
    assert main(argv) == 0
    assert (tmp_path / "docs" / "results.md").read_text() == "the project's own results"
    assert not (tmp_path / "docs" / "images").exists()
    runs = tmp_path / "runs"
    assert "| InterGAN |" in (runs / "results.md").read_text()
    assert (runs / "images" / "ablation.png").is_file()


def test_docs_never_replaces_a_results_page_it_did_not_write(synth, tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.md").write_text("my notes")
    assert main(_args(synth, tmp_path, variants="intergan")) == 2
    assert "was not written by `intergan bench ablation`" in capsys.readouterr().err
    assert (tmp_path / "docs" / "results.md").read_text() == "my notes"
    assert not (tmp_path / "runs" / "intergan").exists()  # refused before any training


def test_out_must_be_new_empty_or_an_earlier_ablation(synth, tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "results.json").write_text("my numbers")
    # Before: trained into it and replaced results.json at the end.
    assert main(_args(synth, tmp_path, variants="intergan")) == 2
    assert "is not an earlier ablation's folder" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["results.json"]


def test_a_bad_set_value_is_refused_before_the_judge_is_trained(synth, tmp_path, capsys):
    assert main(_args(synth, tmp_path, "--set", "train.test_int=1e9", variants="intergan")) == 2
    assert "train.test_int" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "judge").exists()
