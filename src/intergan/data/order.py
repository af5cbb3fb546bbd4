"""The data order: each epoch's permutation, fixed by ``(seed, epoch)``, and the sampler
that serves one rank's share of it from any batch on.

One place for both the trainer's batch stream (``intergan.training.batches``) and
:func:`intergan.data.make_loader`, so the two never disagree on what epoch ``e`` of a
seed is.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


def epoch_permutation(
    n: int, seed: int, epoch: int, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The dataset order of ``epoch``: a permutation of ``range(n)`` fixed by the seed,
    or with ``weights (n,)`` ``n`` indices drawn with replacement in proportion to them."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    if weights is not None:
        return torch.multinomial(weights, n, replacement=True, generator=g)
    return torch.randperm(n, generator=g)


class EpochSampler(Sampler[int]):
    """Rank ``rank``'s indices of epoch ``epoch`` in whole batches, from batch ``start``.

    Rank r takes every ``world``-th index of the epoch's order, like
    ``DistributedSampler``; the indices past the last whole batch of every rank are
    left out. ``shuffle=False`` keeps the dataset order (``weights`` then unused).
    :meth:`set_epoch` moves to another epoch from its first batch.
    """

    def __init__(
        self,
        n: int,
        batch_size: int = 1,
        seed: int = 0,
        epoch: int = 0,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
        weights: torch.Tensor | None = None,
        shuffle: bool = True,
    ) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.start, self.rank, self.world = epoch, start, rank, world
        self.batches = n // (batch_size * world)
        self.weights, self.shuffle = weights, shuffle

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.start = epoch, 0

    def __iter__(self) -> Iterator[int]:
        used = self.batches * self.batch_size * self.world
        if self.shuffle:
            order = epoch_permutation(self.n, self.seed, self.epoch, self.weights)
        else:
            order = torch.arange(self.n)
        mine = order[:used][self.rank :: self.world]
        return iter(mine[self.start * self.batch_size :].tolist())

    def __len__(self) -> int:
        return max(0, self.batches - self.start) * self.batch_size
