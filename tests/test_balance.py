"""Attribute-balanced sampling (``--balance``): rare attributes drawn more often, the
draw reproducible and resumable, and a bad value refused before any work."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from intergan.config import Config, model_config
from intergan.data.balance import balance_weights, shares
from intergan.data.order import EpochSampler
from intergan.errors import UserError
from intergan.training import train


def celeba_like_labels(n: int = 20_000, seed: int = 0) -> torch.Tensor:
    """Bald 2%, Mustache 4% (rare), Male 42% (inside the band), Young 80% (common),
    a hair colour group whose members exclude each other, and one constant column."""
    g = torch.Generator().manual_seed(seed)
    y = torch.zeros(n, 7)
    y[:, 1] = (torch.rand(n, generator=g) < 0.04).float()  # Mustache
    y[:, 2] = (torch.rand(n, generator=g) < 0.42).float()  # Male
    y[:, 3] = (torch.rand(n, generator=g) < 0.80).float()  # Young
    hair = torch.multinomial(torch.tensor([0.02, 0.25, 0.15, 0.58]), n, True, generator=g)
    y[:, 0], y[:, 4], y[:, 5] = (hair == 0).float(), (hair == 1).float(), (hair == 2).float()
    y[:, 6] = 1.0  # on for every image: nothing to balance
    return y


def test_rare_and_common_attributes_move_to_the_floor_and_the_rest_stay():
    y = celeba_like_labels()
    w = balance_weights(y, floor=0.2)
    before, after = shares(y).tolist(), shares(y, w).tolist()
    assert before[0] < 0.03 and before[1] < 0.05  # Bald, Mustache: rare
    assert after[0] == pytest.approx(0.2, abs=0.01)
    assert after[1] == pytest.approx(0.2, abs=0.01)
    assert after[3] == pytest.approx(0.8, abs=0.01)  # Young 80% -> at most 1 - floor
    assert after[2] == pytest.approx(before[2], abs=0.03)  # Male was inside: held
    assert after[6] == pytest.approx(1.0)  # the constant column is left alone
    n = len(y)
    assert float(w.sum()) == pytest.approx(1.0)
    assert float(w.max()) * n <= 20.0 + 1e-6 and float(w.min()) * n >= 1 / 20 - 1e-9


def test_weights_never_pass_the_cap_even_where_the_floor_cannot_be_met():
    y = torch.zeros(1000, 1)
    y[:2, 0] = 1.0  # 0.2% on: reaching 20% would need a weight of ~125x the mean
    w = balance_weights(y, floor=0.2, max_ratio=20.0)
    assert float(w.max()) * 1000 == pytest.approx(20.0, rel=1e-3)
    assert 0.03 < float(shares(y, w)[0]) < 0.2


def test_balanced_draws_follow_the_weights_split_ranks_and_resume():
    y = celeba_like_labels(4000)
    w = balance_weights(y)
    full = list(EpochSampler(4000, 50, seed=1, epoch=0, start=0, weights=w))
    drawn = y[full]
    assert float(drawn[:, 0].mean()) > 0.15  # Bald: 2% of the images, ~20% of the draws
    assert list(EpochSampler(4000, 50, 1, 0, start=3, weights=w)) == full[150:]
    again = list(EpochSampler(4000, 50, seed=1, epoch=0, start=0, weights=w))
    assert again == full  # the same seed and epoch draw the same images
    assert full != list(EpochSampler(4000, 50, seed=1, epoch=1, start=0, weights=w))
    ranks = [list(EpochSampler(4000, 50, 1, 0, 0, rank=r, world=2, weights=w)) for r in (0, 1)]
    assert ranks[0] + ranks[1] != [] and sorted(ranks[0] + ranks[1]) == sorted(full)


class _Labelled(TensorDataset):
    @property
    def labels(self) -> torch.Tensor:
        return self.tensors[1]


def _config(**data) -> Config:
    cfg = Config(model=model_config("tiny", "intergan", 32))
    cfg.train.steps, cfg.train.batch_size, cfg.train.n_d = 2, 4, 1
    cfg.train.sample_every, cfg.train.log_every = 0, 1
    cfg.data.num_workers = 0
    for k, v in data.items():
        setattr(cfg.data, k, v)
    return cfg


def _data(n: int = 40) -> _Labelled:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = (torch.rand(n, 13, generator=g) < 0.5).float()
    labels[:, 0] = 0.0
    labels[:2, 0] = 1.0  # Bald on 5% of the images
    return _Labelled(images, labels)


def test_a_balanced_run_says_what_it_draws_and_saves_the_setting(tmp_path):
    train(_config(balance=0.2), tmp_path / "run", dataset=_data())
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "balanced sampling" in log and "Bald 5%->" in log
    saved = Config.load(tmp_path / "run" / "config.json", saved=True)
    assert saved.data.balance == 0.2


def test_balance_needs_labels_and_a_share_below_half(tmp_path):
    plain = TensorDataset(*_data().tensors)  # no .labels
    with pytest.raises(UserError, match="--balance needs the labels"):
        train(_config(balance=0.2), tmp_path / "a", dataset=plain)
    with pytest.raises(UserError, match=r"data.balance \(--balance\) is 0.6"):
        train(_config(balance=0.6), tmp_path / "b", dataset=_data())
    assert not (tmp_path / "b").exists()
