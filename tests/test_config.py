"""The run configuration: presets, validation and the JSON round trip."""

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
