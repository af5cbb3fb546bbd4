"""The training batch stream: a reproducible data order that can resume mid-epoch.

Each epoch visits the dataset in a permutation seeded by ``(seed, epoch)`` (with
``weights``, from ``--balance``: as many draws with replacement, by weight), split
across ranks like ``DistributedSampler`` (rank r takes every world-th index), in
whole batches (the last incomplete one is dropped). The position is
``(epoch, batch index in the epoch)``; a stream restored to a position yields the
same batches as the original from there on, whatever the number of workers,
because dataset items are a pure function of their index (random flips happen here,
on the batch, from the caller's generator, not inside workers).
"""

from __future__ import annotations

import atexit
import signal
import weakref
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from intergan.data.order import EpochSampler
from intergan.errors import UserError


def _leave_stop_signals_to_the_main_process(worker_id: int) -> None:
    """Loader workers ignore SIGINT/SIGTERM: Ctrl-C, ``timeout`` and cluster schedulers
    signal the whole process group, and a worker dying first would crash the main
    process before it can write its checkpoint. The main process shuts them down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


# Streams with loader workers. Their workers ignore SIGTERM, and at exit
# multiprocessing stops daemon workers with SIGTERM and then joins them, forever:
# so every stream still open is closed first (atexit runs handlers registered later
# first, and torch imported multiprocessing before this module).
_OPEN: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_open_streams() -> None:
    for stream in list(_OPEN):
        stream.close()


def from_worker(e: BaseException) -> BaseException:
    """A ``UserError`` a loader worker raised, with its own message again (the loader
    re-raises it as ``Caught UserError in DataLoader worker ...`` plus a traceback)."""
    text = str(e)
    if not isinstance(e, UserError) or not text.startswith("Caught "):
        return e
    marker = f"{type(e).__module__}.{type(e).__qualname__}: "
    if marker not in text:
        return e
    return type(e)(text.rsplit(marker, 1)[1].strip())


class BatchStream:
    """Endless batches ``(images uint8 (B,3,S,S), labels float (B,n) in {0,1})``.

    ``position()`` / ``set_position()`` give the ``{"epoch", "batch"}`` dict stored in
    checkpoints. ``flip``: mirror each image with probability 1/2, decided by the
    ``generator`` passed to :meth:`next` (whose state the checkpoint keeps).
    ``weights (N,)``: draw each epoch's images with replacement in proportion to them
    (``intergan.data.balance``) instead of visiting each once.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        num_workers: int = 0,
        pin_memory: bool = False,
        flip: bool = False,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.weights = weights
        self.rank, self.world, self.flip = rank, world, flip
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.n = len(dataset)  # type: ignore[arg-type]
        self.batches_per_epoch = self.n // (batch_size * world)
        self.epoch, self.batch = 0, 0
        self._it: Iterator | None = None

    def position(self) -> dict[str, int]:
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "batch_size": self.batch_size,
            "world": self.world,
        }

    def set_position(self, pos: dict[str, int]) -> None:
        self.epoch, self.batch = int(pos["epoch"]), int(pos["batch"])
        self._it = None

    def _loader(self) -> Iterator:
        sampler = EpochSampler(
            self.n,
            self.batch_size,
            self.seed,
            self.epoch,
            self.batch,
            self.rank,
            self.world,
            self.weights,
        )
        # An explicit generator keeps the loader from drawing on the global RNG
        # (it seeds workers from it), so resuming does not shift any other stream.
        g = torch.Generator().manual_seed(self.seed * 7919 + self.epoch)
        loader = DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            generator=g,
            worker_init_fn=_leave_stop_signals_to_the_main_process,
        )
        if self.num_workers > 0:
            _OPEN.add(self)
        return iter(loader)

    def close(self) -> None:
        """Stop the loader's worker processes now (the next batch starts new ones)."""
        it, self._it = self._it, None
        workers = list(getattr(it, "_workers", []))
        shutdown = getattr(it, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        for w in workers:  # one still busy ignores SIGTERM: end it
            if w.is_alive():
                w.kill()
                w.join(timeout=5)

    def next(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch (CPU tensors), moving to the next epoch when one ends."""
        for _ in range(2):
            if self._it is None:
                self._it = self._loader()
            try:
                images, labels = next(self._it)
                break
            except StopIteration:
                self.epoch, self.batch, self._it = self.epoch + 1, 0, None
            except Exception as e:  # a bad file: stop the workers, say it in one line
                self.close()
                err = from_worker(e)
                if err is e:
                    raise
                raise err from None
        else:  # pragma: no cover - guarded by the dataset size check before training
            raise RuntimeError("the dataset yields no complete batch")
        self.batch += 1
        if self.flip:
            mirror = torch.rand(images.shape[0], generator=generator) < 0.5
            images = torch.where(mirror[:, None, None, None], images.flip(-1), images)
        return images, labels.float()
