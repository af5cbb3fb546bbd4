"""The run configuration: presets, validation and the JSON round trip."""

import json

import pytest

from intergan.config import Config, model_config
from intergan.errors import UserError


def test_json_round_trip(tmp_path):
    cfg = Config(model=model_config("tiny", "no_cti", 32, "paper11"))
    cfg.train.steps = 7
    cfg.save(tmp_path / "c.json")
    back = Config.load(tmp_path / "c.json")
    assert back.to_dict() == cfg.to_dict()
    # the file names the bottleneck side the per-size default gave (0 in cfg)
    assert (back.model.bottleneck, cfg.model.bottleneck) == (cfg.model.bottleneck_size, 0)
    back.model.bottleneck = 0
    assert back == cfg
    assert back.model.n_attrs == 11


@pytest.mark.parametrize("size", [48, 16, 1024])
def test_bad_size_names_the_field(size):
    with pytest.raises(UserError, match="img_size"):
        model_config("tiny", img_size=size)


def test_unknown_fields_and_presets():
    with pytest.raises(UserError, match="train.stepz"):
        Config.from_dict({"train": {"stepz": 3}})
    with pytest.raises(UserError, match="preset"):
        model_config("huge")
    with pytest.raises(UserError, match="variant"):
        model_config("tiny", variant="stargan")


def test_set_fills_an_optional_field_left_unset():
    from intergan.config import apply_overrides

    cfg = Config()
    assert cfg.train.lr_decay_step is None and cfg.train.channels_last is None
    apply_overrides(cfg, ["train.lr_decay_step=3050", "train.channels_last=false"])
    assert cfg.train.lr_decay_step == 3050 and cfg.train.channels_last is False
    apply_overrides(cfg, ["train.lr_decay_step=none"])
    assert cfg.train.lr_decay_step is None
    with pytest.raises(UserError, match=r"train\.lr_decay_step=soon: expected an integer"):
        apply_overrides(cfg, ["train.lr_decay_step=soon"])


def test_errors_name_a_flag_only_where_intergan_train_has_one():
    import argparse
    import dataclasses

    from intergan.config import TRAIN_FLAGGED, TrainConfig, validate_train
    from intergan.training.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    dests = {a.dest for a in parser._actions if a.option_strings}
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert TRAIN_FLAGGED == dests & fields
    cfg = Config()
    cfg.train.lambda_keep = -1.0  # no flag of its own: the message says how to set it
    with pytest.raises(UserError, match=r"train\.lambda_keep \(--set train\.lambda_keep=\.\.\.\)"):
        validate_train(cfg, "cpu")
    cfg = Config()
    cfg.train.n_d = 0
    with pytest.raises(UserError, match=r"train\.n_d \(--n-d\)"):
        validate_train(cfg, "cpu")


@pytest.mark.parametrize("section, name", [("model", "rgb_skips"), ("train", "keep_d_scale")])
def test_a_removed_option_reads_at_its_old_default_and_is_refused_otherwise(
    tmp_path, section, name
):
    """Checkpoints and exports written while the option existed hold it: at its default
    (False, what every such model used) they load as before; set, they cannot be
    built by this version, and the error says so instead of building another model."""
    saved = Config(model=model_config("tiny", "intergan", 32)).to_dict()
    saved[section][name] = False
    cfg = Config.from_dict(saved, saved=True)
    assert cfg.to_dict() == Config(model=model_config("tiny", "intergan", 32)).to_dict()
    assert name not in cfg.to_dict()[section]
    saved[section][name] = True
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(UserError, match=rf"{section}\.{name} is True: this version has no"):
        Config.load(tmp_path / "config.json", saved=True)
