"""Stating a photo's own attributes: ``source=`` in the API and ``--source-attrs`` on
the command line take the same text, checked before any image work, and override
the judge for what they state. Tiny random models (32 px, CPU), a fake detector."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from intergan.attributes import DEFAULT_ATTRS, UnknownAttributeError
from intergan.cli import main
from intergan.config import Config, model_config
from intergan.editing.backends import TorchBackend
from intergan.editing.editor import Editor
from intergan.errors import UserError
from intergan.models import build_generator
from intergan.models.export import save_exported
from intergan.models.judge import JudgeArch, build_judge
from test_editing_session import CountingDetector, photo

ATTRS = list(DEFAULT_ATTRS)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = Config(model=model_config("tiny"))
    return build_generator(cfg.model).eval(), cfg


def make_editor(model, judge: bool) -> Editor:
    G, cfg = model
    torch.manual_seed(3)
    j = build_judge(ATTRS, 32, JudgeArch(width=4)) if judge else None
    return Editor(TorchBackend(G), cfg, judge=j, detector=CountingDetector(), framing="celeba")


def rows(editor, source) -> list[float]:
    return editor.open(photo(), source=source).source[0].tolist()


def test_text_names_exactly_the_attributes_present_and_overrides_the_judge(model):
    editor = make_editor(model, judge=True)
    judged = rows(editor, None)
    stated = rows(editor, "Male, Young")
    assert stated == [float(a in ("Male", "Young")) for a in ATTRS]
    assert stated != judged  # the judge is not asked for the others
    assert rows(editor, ",".join("1" if a == "Bangs" else "0" for a in ATTRS)) == [
        float(a == "Bangs") for a in ATTRS
    ]
    out = editor.edit(photo(), {"Bald": 1}, source="Male,Young")
    np.testing.assert_array_equal(
        out,
        editor.edit(photo(), {"Bald": 1}, source={a: int(a in ("Male", "Young")) for a in ATTRS}),
    )


def test_name_value_pairs_state_some_and_the_judge_gives_the_rest(model):
    editor = make_editor(model, judge=True)
    judged = rows(editor, None)
    i = ATTRS.index("Male")
    stated = rows(editor, f"Male={int(1 - judged[i])}")
    assert stated[i] == 1 - judged[i]
    assert stated[:i] + stated[i + 1 :] == judged[:i] + judged[i + 1 :]
    no_judge = make_editor(model, judge=False)
    assert rows(no_judge, "Male=1,Young=0") == [float(a == "Male") for a in ATTRS]  # rest absent


@pytest.mark.parametrize(
    "text,message",
    [
        ("Male,Yuong", "unknown attribute 'Yuong'.*did you mean 'Young'"),
        ("Male,Young=1", "mix two forms"),
        ("Male=2", "must be 0 \\(absent\\) or 1"),
        ("Male,Male", "name Male twice"),
        ("1,0,1", "lists 3 values but the model has 13"),
        (" , ", "empty"),
    ],
)
def test_unreadable_text_is_refused_before_any_image_work(model, text, message):
    editor = make_editor(model, judge=False)
    with pytest.raises(UserError, match=message):
        editor.edit(photo(), {"Young": 1}, source=text)
    with pytest.raises(UserError, match=message):
        editor.open(photo(), source=text)
    assert editor.detector.calls == 0


@pytest.fixture()
def exported(model, tmp_path):
    G, cfg = model
    folder = save_exported(G, cfg, tmp_path / "m")
    arr = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    return folder, tmp_path / "a.png"


@pytest.mark.parametrize(
    "spec,message",
    [("Male,Yuong", "did you mean 'Young'"), ("Male,Young=1", "mix two forms")],
)
def test_cli_refuses_a_bad_source_before_any_photo(exported, tmp_path, capsys, spec, message):
    folder, png = exported
    out = tmp_path / "out"
    code = main(["edit", str(png), "--model", str(folder), "--set", "Young=1", "--no-align",
                 "--out", str(out), "--source-attrs", spec])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "error: --source-attrs:" in err and message in err
    assert not out.exists()


def test_unknown_name_is_the_attribute_error_type(model):
    with pytest.raises(UnknownAttributeError):
        make_editor(model, judge=False).labels.parse_source("Mael")
