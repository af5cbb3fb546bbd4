"""Every command that takes a model or a judge accepts the bundled name
``synthfaces-64`` and says so in ``--help``. The bundle is replaced here by a tiny
random export (generator + judge, 32 px) so the commands run their whole path fast."""

from __future__ import annotations

import argparse
import json

import pytest

from app_helpers import export_tiny
from intergan.cli import build_parser, main
from intergan.data.synthfaces.export import write_dataset
from intergan.models import pretrained
from intergan.models.judge import load_judge

NAME = "synthfaces-64"


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("bundle") / NAME)


@pytest.fixture
def bundle(tiny_bundle, monkeypatch):
    monkeypatch.setattr(pretrained, "bundled_dir", lambda name: tiny_bundle)
    return tiny_bundle


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "sf32"
    return write_dataset(out, n=20, size=32, seed=0, split=(0.6, 0.2, 0.2), workers=1)


def _options(argv: list[str]) -> dict[str, argparse.Action]:
    """option string -> argparse action of the (sub)command ``argv`` names."""
    parser = build_parser(argv[0])
    for word in argv:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return {s: a for a in parser._actions for s in (a.option_strings or [a.dest])}


@pytest.mark.parametrize(
    "command, option",
    [
        (["evaluate"], "--model"),
        (["evaluate"], "--judge"),
        (["export"], "run"),
        (["export"], "--judge"),
        (["classifier", "eval"], "--judge"),
        (["edit"], "--model"),
        (["edit"], "--judge"),
        (["bench", "ablation"], "--judge"),
        (["demo"], "--model"),
    ],
)
def test_help_names_the_bundled_model(command, option):
    action = _options(command)[option]
    assert NAME in action.help % vars(action)  # as --help prints it


def test_evaluate_help_states_the_folder_it_writes():
    help_text = _options(["evaluate"])["--out"].help
    assert "MODEL/eval_SPLIT" in help_text and "MODEL/eval)" not in help_text


def test_evaluate_the_bundled_model_with_its_judge(bundle, synth, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["evaluate", "--model", NAME, "--judge", NAME, "--data", str(synth)]
    assert main([*argv, "--n", "2", "--device", "cpu", "--no-progress"]) == 0
    report = tmp_path / "out" / NAME / "eval_test" / "metrics.json"  # not into the package
    assert report.is_file() and str(report.relative_to(tmp_path)) in capsys.readouterr().out
    assert json.loads(report.read_text())["source"]["judge"] == NAME
    assert not (bundle / "eval_test").exists()


def test_evaluate_writes_where_the_help_says(synth, tmp_path):
    model = export_tiny(tmp_path / "mine")
    argv = ["evaluate", "--model", str(model), "--judge", str(model), "--data", str(synth)]
    assert main([*argv, "--split", "valid", "--n", "2", "--no-progress"]) == 0
    assert (model / "eval_valid" / "metrics.json").is_file()


def test_classifier_eval_and_load_judge_take_the_bundled_name(bundle, synth, capsys):
    assert load_judge(NAME).img_size == 32
    assert main(["classifier", "eval", "--judge", NAME, "--data", str(synth)]) == 0
    assert "| **mean** |" in capsys.readouterr().out


def test_export_the_bundled_model_and_judge(bundle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["export", NAME, "--judge", NAME]) == 0
    out = tmp_path / "out" / NAME / "export"
    names = sorted(p.name for p in out.iterdir())
    files = ["README.md", "config.json", "generator.safetensors", "judge.json", "judge.safetensors"]
    assert names == files
    assert not (bundle / "export").exists()


def test_a_missing_bundle_or_misspelt_name_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "bundled_dir", lambda name: tmp_path / name)
    assert main(["classifier", "eval", "--judge", NAME, "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "judge.json, judge.safetensors missing" in err and "pass --judge PATH" in err
    assert main(["evaluate", "--model", "synthfaces64", "--judge", NAME, "--data", "."]) == 2
    assert "did you mean 'synthfaces-64'" in capsys.readouterr().err


def test_the_bundled_model_says_it_was_trained_on_synthfaces_only():
    # `intergan edit` and the web page print SYNTHETIC_NOTE for aligned (real) photos
    # when this holds; a model whose record does not say so gets no note
    from intergan.models.export import read_training, synthetic_only

    assert synthetic_only("synthfaces-64") is True
    assert read_training(pretrained.resolve_model("synthfaces-64"))["steps"] > 0
    assert synthetic_only("/no/such/model") is False


def test_a_model_in_the_user_model_folder_is_found_by_its_name(tiny_bundle, tmp_path, monkeypatch):
    """``--model NAME`` finds ``$INTERGAN_HOME/models/NAME`` (where imports go), and a
    name found nowhere says where it was looked for."""
    import shutil

    monkeypatch.setenv("INTERGAN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    home = pretrained.models_home()
    assert home == tmp_path / "home" / "models"
    assert pretrained.local_models() == {}
    shutil.copytree(tiny_bundle, home / "my-import")
    (home / "not-a-model").mkdir()  # no config.json: not listed
    assert pretrained.local_models() == {"my-import": home / "my-import"}
    assert pretrained.resolve_model("my-import") == home / "my-import"
    with pytest.raises(pretrained.UserError, match=r"my-imprt.*models.*did you mean 'my-import'"):
        pretrained.resolve_model("my-imprt")
