"""Attribute names, presets, encoding and the conflict rules."""

import pytest
import torch

from intergan.attributes import (
    DEFAULT_ATTRS,
    PAPER_ATTRS,
    UnknownAttributeError,
    apply_conflicts,
    encode,
    encode_test_target,
    flip_targets,
    resolve_attrs,
)


def test_presets_and_lists():
    assert resolve_attrs(None) == list(DEFAULT_ATTRS)
    assert len(DEFAULT_ATTRS) == 13
    assert resolve_attrs("paper11") == list(PAPER_ATTRS)
    assert "Bald" not in PAPER_ATTRS and len(PAPER_ATTRS) == 11
    assert resolve_attrs("Male, Young") == ["Male", "Young"]


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownAttributeError, match="did you mean 'Blond_Hair'"):
        resolve_attrs(["Blonde_Hair"])
    with pytest.raises(UnknownAttributeError, match="case-sensitive"):
        resolve_attrs(["male"])
    with pytest.raises(UnknownAttributeError, match="more than once"):
        resolve_attrs(["Male", "Male"])


def test_hair_colour_on_switches_others_off():
    attrs = list(DEFAULT_ATTRS)
    src = torch.zeros(1, 13)
    src[0, attrs.index("Black_Hair")] = 1
    out = apply_conflicts(src, attrs, attrs.index("Blond_Hair"), 1.0)
    assert out[0, attrs.index("Blond_Hair")] == 1
    assert out[0, attrs.index("Black_Hair")] == 0
    assert torch.equal(src[0], torch.eye(13)[attrs.index("Black_Hair")])  # input untouched


def test_rules_skip_absent_attrs_and_switch_off_changes_nothing_else():
    attrs = ["Bald", "Male"]  # Bangs not active: Bald's rule is skipped
    out = apply_conflicts(torch.tensor([[0.0, 1.0]]), attrs, 0, 1.0)
    assert out.tolist() == [[1.0, 1.0]]
    attrs = list(DEFAULT_ATTRS)
    src = torch.ones(1, 13)
    off = apply_conflicts(src, attrs, attrs.index("Bangs"), 0.0)
    assert off.sum() == 12


def test_flip_targets_mustache_beard():
    attrs = list(DEFAULT_ATTRS)
    src = torch.zeros(2, 13)
    src[:, attrs.index("No_Beard")] = 1
    src[1, attrs.index("Mustache")] = 1
    t = flip_targets(src, attrs)[attrs.index("Mustache")]
    assert t[0, attrs.index("Mustache")] == 1 and t[0, attrs.index("No_Beard")] == 0
    assert t[1, attrs.index("Mustache")] == 0 and t[1, attrs.index("No_Beard")] == 1


def test_encoding_scales():
    lab = torch.tensor([[0.0, 1.0]])
    assert encode(lab).tolist() == [[-0.5, 0.5]]
    assert encode_test_target(lab, 1, 0.5, 1.0).tolist() == [[-0.5, 1.0]]
