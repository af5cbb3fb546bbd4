"""A model remembers the framing of its training data: the data's record (``aligned.json``
of ``intergan faces align``, a cache's manifest, a SynthFaces export) -> the run's
``data.framing`` -> the export -> the editor's crops. Runs and configs without one are
guessed as before, and a ``data.framing`` that contradicts the record is refused.

Folder names here avoid "celeba" and "synth": the guess reads the data path's name.
"""

from __future__ import annotations

import json

import pytest

from data_fixtures import make_celeba, make_synth_export
from intergan.cli import main
from intergan.config import Config
from intergan.editing.align import framing_for_config
from intergan.editing.editor import Editor

TINY = ["--preset", "tiny", "--batch-size", "2", "--n-d", "1", "--workers", "0", "--amp", "none"]


@pytest.fixture
def photos(tmp_path):
    """CelebA-layout faces recorded as ``celebahq``-framed: at 32 px the guess says celeba."""
    root = tmp_path / "photos"
    make_celeba(root, n=8)
    record = {"format": "intergan faces align", "framing": {"name": "celebahq"}, "size": 32}
    (root / "aligned.json").write_text(json.dumps(record))
    return root


def _train(data, out, *extra) -> int:
    return main(["train", "--data", str(data), "--out", str(out), *TINY, *extra])


def _framing_line(capsys) -> str:
    """The ``data.framing`` line of a ``--dry-run`` listing."""
    return next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("data.framing"))


def test_train_and_export_keep_the_framing_the_data_records(photos, tmp_path, capsys):
    run, exported = tmp_path / "run", tmp_path / "model"
    assert _train(photos, run, "--steps", "2", "--no-progress") == 0
    assert Config.load(run / "config.json").data.framing == "celebahq"
    log = (run / "log.txt").read_text()
    assert f"framing: celebahq, from the data ({photos / 'aligned.json'})" in log
    assert main(["export", str(run), "--out", str(exported)]) == 0
    editor = Editor.from_pretrained(exported, device="cpu")
    assert editor.framing.name == "celebahq"
    assert Editor.from_pretrained(exported, device="cpu", framing="celeba").framing.name == (
        "celeba"
    )  # --framing still overrides
    guessed = Config.load(run / "config.json")
    guessed.data.framing = ""
    assert framing_for_config(guessed).name == "celeba"  # what the guess would have cut


def test_dry_run_shows_the_framing_from_the_data_and_a_cache_carries_it(photos, tmp_path, capsys):
    assert _train(photos, tmp_path / "run", "--dry-run") == 0
    line = _framing_line(capsys)
    assert '"celebahq"' in line and f"# from the data ({photos / 'aligned.json'})" in line
    cache = tmp_path / "packed"
    assert main(["prepare", "--data", str(photos), "--size", "32", "--out", str(cache)]) == 0
    assert json.loads((cache / "manifest.json").read_text())["framing"] == "celebahq"
    capsys.readouterr()
    assert _train(cache, tmp_path / "run2", "--dry-run") == 0
    line = _framing_line(capsys)
    assert '"celebahq"' in line and f"from the data ({cache / 'manifest.json'})" in line


def test_a_synthfaces_export_records_its_framing(tmp_path, capsys):
    make_synth_export(tmp_path / "renders", n=8)
    assert _train(tmp_path / "renders", tmp_path / "run", "--dry-run") == 0
    line = _framing_line(capsys)
    assert '"synthfaces"' in line and "identities.jsonl" in line


def test_a_framing_set_against_the_record_is_refused_and_one_that_agrees_is_kept(
    photos, tmp_path, capsys
):
    out = tmp_path / "run"
    assert _train(photos, out, "--set", "data.framing=celeba", "--dry-run") == 2
    err = capsys.readouterr().err
    assert "data.framing is 'celeba'" in err and "records" in err and "celebahq" in err
    assert not out.exists()
    assert _train(photos, out, "--set", "data.framing=celebahq", "--dry-run") == 0


def test_a_config_from_other_data_gives_way_to_this_datas_record(photos, tmp_path, capsys):
    template = Config()
    template.data.framing = "synthfaces"  # as a run on SynthFaces renders saved it
    template.save(tmp_path / "other.json")
    args = ["--config", str(tmp_path / "other.json"), "--dry-run"]
    assert _train(photos, tmp_path / "run", *args) == 0
    line = _framing_line(capsys)
    assert '"celebahq"' in line


def test_data_without_a_record_keeps_a_framing_set_by_hand(tmp_path, capsys):
    make_celeba(tmp_path / "faces", n=8)
    assert _train(tmp_path / "faces", tmp_path / "run", "--dry-run") == 0
    assert '""' in _framing_line(capsys)  # unknown: the editor will guess
    args = ["--set", "data.framing=celebahq", "--dry-run"]
    assert _train(tmp_path / "faces", tmp_path / "run", *args) == 0
    line = _framing_line(capsys)
    assert '"celebahq"' in line and line.endswith("# --set")


@pytest.mark.parametrize(
    "path, size, expected",
    [("/data/photos", 256, "celebahq"), ("/data/photos", 64, "celeba"), ("", 64, "synthfaces")],
)
def test_an_old_config_without_the_field_loads_and_is_guessed_as_before(path, size, expected):
    old = Config().to_dict()
    del old["data"]["framing"]  # as runs and exports written before the field hold it
    old["data"]["path"], old["model"]["img_size"] = path, size
    old["model"]["bottleneck"] = 16
    cfg = Config.from_dict(old, saved=True)
    assert cfg.data.framing == ""
    assert framing_for_config(cfg).name == expected


def test_a_recorded_framing_this_version_does_not_know_names_the_fix():
    cfg = Config()
    cfg.data.framing = "studio"
    with pytest.raises(Exception, match="'studio' framing.*--framing"):
        framing_for_config(cfg)


def test_a_judge_keeps_the_framing_of_its_data_and_faces_align_cuts_in_it(photos, tmp_path):
    from intergan.editing.align import CELEBA
    from intergan.faces_labels import judge_framing
    from intergan.models.judge import load_judge

    out = tmp_path / "judge"
    args = ["--data", str(photos), "--size", "16", "--steps", "2", "--batch-size", "2"]
    assert main(["classifier", "train", *args, "--workers", "0", "--out", str(out)]) == 0
    judge = load_judge(out)
    assert judge.info["train"]["framing"] == "celebahq"
    assert judge_framing(judge.info, judge.img_size, CELEBA).name == "celebahq"
