"""Every numeric option of every command refuses nan, inf, out-of-range and absurd values
with argparse's one-line error (exit 2, no traceback), and so does the API for the
numbers it takes: edit intensities, sweep steps, config fields, the ONNX opset.

The walk covers every subcommand's parser, nested ones (``classifier train``, ``bench
ablation``, ``data check``) included; an option declared with a bare ``type=int`` or
``type=float`` (no bounds) fails it.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from app_helpers import export_tiny
from fault_helpers import error_line
from intergan.cli import COMMANDS, build_parser, main
from intergan.config import Config, apply_overrides, model_config, validate_model, validate_train
from intergan.editing.editor import Editor
from intergan.editing.labels import MAX_INTENSITY
from intergan.errors import UserError

SOURCE = {"Male": 1, "Young": 1}


def numeric_options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(command path, action)`` for every option that converts its value with a
    ``type`` (nested subcommands included)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from numeric_options(sub, (*path, name))
        elif action.type is not None and action.option_strings:
            yield path, action


def problems(parser: argparse.ArgumentParser) -> list[str]:
    """Options whose type is a bare int/float, or a bounded type open on one side, or
    whose default lies outside its own bounds."""
    found = []
    for path, action in numeric_options(parser):
        name = " ".join([*path, action.option_strings[-1]])
        if action.type in (int, float):
            found.append(f"{name}: bare type={action.type.__name__}; use int_in / float_in")
            continue
        bounds = getattr(action.type, "bounds", None)
        if bounds is None:
            continue  # a non-numeric type (a path, a choice)
        lo, hi = bounds
        if lo is None or hi is None:
            found.append(f"{name}: bounds {bounds}; give both ends")
            continue
        defaults = action.default if isinstance(action.default, (tuple, list)) else [action.default]
        for d in defaults:
            if isinstance(d, (int, float)) and not lo <= d <= hi:
                found.append(f"{name}: default {d} outside {bounds}")
    return found


def bad_values(lo: float, hi: float, is_int: bool) -> list[str]:
    values = ["nan", "inf", "-inf", "1e400", str(lo - 1), str(hi + 1)]
    if lo >= 0:
        values.append("-1")
    if hi < 10**9:
        values.append(str(10**9))
    if is_int:
        values.append("1.5")
    return values


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """Placeholder values for a (sub)parser's positionals and required options."""
    argv = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if not action.option_strings:
            argv.append("x")
        elif action.required:
            bounds = getattr(action.type, "bounds", None)
            argv += [action.option_strings[0], str(bounds[0]) if bounds else "x"]
    return argv


def _subparser(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser(path[0])
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def test_every_numeric_option_is_bounded():
    options = list(numeric_options(build_parser()))
    commands = {path[0] for path, a in options if getattr(a.type, "bounds", None)}
    # every command but `model`... has numbers; the walk reaches nested subcommands
    assert {"train", "edit", "export", "demo", "synth", "prepare", "evaluate"} <= commands
    assert {("classifier", "train"), ("bench", "ablation"), ("data", "check")} <= {
        p for p, _ in options
    }
    assert set(commands) <= set(COMMANDS)
    assert problems(build_parser()) == []


def test_the_walk_fails_on_a_bare_int_option():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers().add_parser("new")
    sub.add_argument("--count", type=int)
    assert problems(parser) == ["new --count: bare type=int; use int_in / float_in"]


def test_every_numeric_option_refuses_bad_values_with_one_line(capsys):
    checked = 0
    for path, action in numeric_options(build_parser()):
        bounds = getattr(action.type, "bounds", None)
        if bounds is None:
            continue
        lo, hi = bounds
        base = [*path, *_required(_subparser(path))]
        option = action.option_strings[-1]
        for value in bad_values(lo, hi, action.type.__name__ == "integer"):
            if isinstance(action.nargs, int):  # --range LO HI
                argv = [*base, option, *[value] * action.nargs]
            else:  # OPTION=VALUE: "-inf" is a value, not an option
                argv = [*base, f"{option}={value}"]
            with pytest.raises(SystemExit) as e:
                main(argv)
            err = capsys.readouterr().err
            assert e.value.code == 2 and "Traceback" not in err, (argv, err)
            last = err.strip().splitlines()[-1]
            assert f"error: argument {option}" in last and "expected" in last, (argv, err)
            checked += 1
    assert checked > 300


# --- the cases of issue 35, through the command line -----------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["edit", "a.png", "--model", "m", "--out", "o", "--slide", "Young", "--steps", "-3"],
        ["edit", "a.png", "--model", "m", "--out", "o", "--slide", "Young", "--steps", "100000"],
        ["edit", "a.png", "--model", "m", "--out", "o", "--slide", "Young", "--range", "-9", "1"],
        ["train", "--out", "r", "--data", "d", "--epochs", "0"],
        ["train", "--out", "r", "--data", "d", "--keep-last", "0"],
        ["demo", "--serve", "--port", "70000"],
        ["export", "run", "--onnx", "--opset", "999"],
    ],
)
def test_issue_cases_are_refused_at_parse_time(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err
    assert "error: argument" in err.strip().splitlines()[-1]
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize("value", ["1e9", "-2", "1.6"])
def test_edit_set_refuses_intensities_beyond_the_slider_range(tmp_path, capsys, value):
    model = export_tiny(tmp_path / "model")
    (tmp_path / "a.png").write_bytes(b"")
    argv = ["edit", str(tmp_path / "a.png"), "--model", str(model), "--out", str(tmp_path / "o")]
    assert main([*argv, "--set", f"Blond_Hair={value}"]) == 2
    assert f"outside -{MAX_INTENSITY:g}..{MAX_INTENSITY:g}" in error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "item, message",
    [
        ("train.thres_int=inf", "expected a finite number"),
        ("train.lr=nan", "expected a finite number"),
        ("train.test_int=1e9", "train.test_int"),
        ("train.batch_size=1000000000", "train.batch_size"),
        ("train.seed=-1", "train.seed"),
        ("train.sample_count=100000", "train.sample_count"),
        ("data.num_workers=100000", "num_workers"),
        ("model.enc_dim=1000000", "model.enc_dim"),
        ("model.n_down=1000", "model.n_down"),
    ],
)
def test_train_set_refuses_non_finite_and_absurd_values(tmp_path, capsys, item, message):
    (tmp_path / "data").mkdir()
    argv = ["train", "--out", str(tmp_path / "run"), "--data", str(tmp_path / "data")]
    assert main([*argv, "--set", item]) == 2
    assert message in error_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_config_checks_refuse_what_the_flags_refuse():
    cfg = Config(model=model_config("tiny", img_size=32))
    validate_train(cfg, "cpu")
    for field, value in [("thres_int", float("inf")), ("test_int", 50.0), ("steps", 10**12)]:
        bad = Config.from_dict(cfg.to_dict())
        setattr(bad.train, field, value)
        with pytest.raises(UserError, match=f"train.{field}"):
            validate_train(bad, "cpu")
    with pytest.raises(UserError, match="expected a finite number"):
        apply_overrides(Config.from_dict(cfg.to_dict()), ["train.ema=nan"])
    bad = Config.from_dict(cfg.to_dict())
    bad.model.max_dim = 10**6
    with pytest.raises(UserError, match="model.max_dim"):
        validate_model(bad.model)


# --- the API -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    return Editor.from_pretrained(export_tiny(tmp_path_factory.mktemp("m")))


def test_editor_refuses_out_of_range_numbers(editor):
    image = np.zeros((32, 32, 3), np.uint8)
    kw = {"source": SOURCE, "align": False}
    with pytest.raises(UserError, match="outside -1.5..1.5"):
        editor.edit(image, {"Blond_Hair": 1e9}, **kw)
    with pytest.raises(UserError, match="outside -1.5..1.5"):
        editor.edit_all(image, intensity=-3.0, **kw)
    with pytest.raises(UserError, match="outside -1.5..1.5"):
        editor.interpolate(image, "Young", 3, (-1.0, 7.0), **kw)
    for steps in (-3, 1, 100000, 2.5):
        with pytest.raises(UserError, match="steps must be"):
            editor.interpolate(image, "Young", steps, **kw)
    with pytest.raises(UserError, match="face -1"):
        editor.edit(image, {"Young": 1}, source=SOURCE, face_index=-1)
    session = editor.open(image, **kw)
    with pytest.raises(UserError, match="outside"):
        session.edit({"Young": float(MAX_INTENSITY) + 0.01})
    # the ends of the range are allowed
    assert session.edit({"Young": MAX_INTENSITY}).shape == image.shape
    for kwargs in ({"batch_size": 0}, {"batch_size": 10**9}, {"feather": float("nan")}):
        with pytest.raises(UserError):
            Editor(editor.backend, editor.config, **kwargs)


def test_export_refuses_an_unsupported_opset_in_the_api(tmp_path):
    from intergan.models.export import ONNX_OPSETS, check_opset, export_run

    model = export_tiny(tmp_path / "model")
    with pytest.raises(UserError, match=f"from {ONNX_OPSETS[0]} to {ONNX_OPSETS[1]}"):
        export_run(model, tmp_path / "out", onnx=True, opset=999)
    assert not (tmp_path / "out").exists()
    for opset in (7, 17, 24, True, 18.5):
        with pytest.raises(UserError):
            check_opset(opset)
    check_opset(ONNX_OPSETS[0])


def test_ablation_and_demo_apis_refuse_absurd_numbers(tmp_path):
    from intergan.app.demo import run_demo
    from intergan.bench.ablation import AblationOptions

    for kw in ({"time_budget": float("nan")}, {"time_budget": -1.0}, {"eval_n": 0}):
        with pytest.raises(UserError):
            AblationOptions(data=str(tmp_path), steps=4, preset="tiny", **kw).validate()
    with pytest.raises(UserError, match="--identities must be from 1 to 64"):
        run_demo("synthfaces-64", tmp_path / "demo", identities=10**6)
    assert not (tmp_path / "demo").exists()


def test_split_fractions_and_dataset_seeds_are_checked_in_the_api(tmp_path):
    from intergan.data.formats import parse_ratios
    from intergan.data.synthfaces.export import write_dataset

    for spec in ("nan,0.05,0.05", "inf,1,1", "0.9,0.05,-inf"):
        with pytest.raises(UserError, match="split ratios"):
            parse_ratios(spec)
    with pytest.raises(UserError, match="--seed must be"):
        write_dataset(tmp_path / "sf", n=2, size=16, seed=-1, workers=1)
    assert not (tmp_path / "sf").exists()
