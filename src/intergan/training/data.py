"""The run's data: the training set, the batch stream over it, the fixed sample batch.

Datasets default to the config's ``data.path`` (its train and valid splits); items are
``(uint8 (3,S,S), float (n_attrs,) in {0,1})``.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from intergan.config import Config
from intergan.errors import UserError
from intergan.training import distributed as dist
from intergan.training.batches import BatchStream
from intergan.training.samples import fixed_batch


def open_dataset(cfg: Config, split: str) -> Dataset:
    """The ``split`` of the config's data path."""
    if not cfg.data.path:
        raise UserError("no training data: pass --data DIR (a dataset folder or prepared cache)")
    from intergan.data import build_dataset

    model_cfg, data_cfg = cfg.model, cfg.data
    return build_dataset(
        data_cfg.path,
        model_cfg.attrs,
        split,
        model_cfg.img_size,
        data_cfg.format,
        hq_labels=data_cfg.hq_labels,
    )


def fix_framing(cfg: Config, asked: bool) -> str:
    """Set ``data.framing`` from the record the data carries (``recorded_framing``);
    returns where it came from, ``""`` when the data records none (the value stays).
    ``asked``: the value was given for this run (a flag, ``--set``, the API's config);
    one that differs from the record is a ``UserError``, as the record describes the
    images. A value a checkpoint or ``--config`` carried gives way to the record."""
    if not cfg.data.path:
        return ""
    from intergan.data.sources import recorded_framing

    record = recorded_framing(cfg.data.path)
    if record is None:
        return ""
    name, where = record
    if asked and cfg.data.framing and cfg.data.framing != name:
        raise UserError(
            f"data.framing is {cfg.data.framing!r}, but {where} records that the faces of "
            f"--data {cfg.data.path} are in the {name!r} framing; leave data.framing out "
            "(the run takes the data's), or align the photos again with `intergan faces "
            f"align --framing {cfg.data.framing}` (to edit in another framing: intergan "
            "edit --framing)"
        )
    cfg.data.framing = name
    return f"from the data ({where})"


def batches_per_epoch(cfg: Config, dataset: Dataset) -> int:
    """Whole batches per epoch and process; a ``UserError`` when there is not one."""
    world = dist.env_world()[2]
    n = len(dataset)  # type: ignore[arg-type]
    if n // (cfg.train.batch_size * world) < 1:
        raise UserError(
            f"the training data has {n} images, fewer than one batch per process "
            f"(--batch-size {cfg.train.batch_size} x {world} process(es)); lower --batch-size"
        )
    return n // (cfg.train.batch_size * world)


def make_stream(cfg: Config, dataset: Dataset, device: torch.device) -> BatchStream:
    """The training batches of this process (balanced with ``data.balance``)."""
    world = dist.world_size()
    return BatchStream(
        dataset,
        cfg.train.batch_size,
        cfg.train.seed,
        dist.rank(),
        world,
        _workers(cfg, dataset, world),
        device.type == "cuda",
        cfg.data.flip,
        _balance(dataset, cfg.data.balance) if cfg.data.balance > 0 else None,
    )


def sample_batch(cfg: Config, train_data: Dataset, sample_data: Dataset | None):
    """The fixed images and labels of every sample grid: the valid split where there is
    one, else the training data."""
    if sample_data is None and cfg.data.path:
        try:
            sample_data = open_dataset(cfg, "valid")
        except UserError:
            sample_data = None
    if sample_data is None or len(sample_data) == 0:  # type: ignore[arg-type]
        sample_data = train_data
    return fixed_batch(sample_data, cfg.train.sample_count)


def _balance(dataset: Dataset, floor: float) -> torch.Tensor:
    """``--balance FLOOR``: the sampling weight of each training image, from its labels."""
    from intergan.data.balance import balance_weights

    labels = getattr(dataset, "labels", None)
    if labels is None:
        raise UserError(
            f"--balance needs the labels of every image up front; a {type(dataset).__name__} "
            "has none: train from a dataset folder or a prepared cache, or leave out --balance"
        )
    return balance_weights(labels, floor=floor)


def _workers(cfg: Config, dataset: Dataset, world: int) -> int:
    if cfg.data.num_workers >= 0:
        return cfg.data.num_workers
    from intergan.data.loader import auto_workers

    n = auto_workers(dataset)  # decoding folders need many, a memory-mapped cache few
    return n if n == 0 else max(1, n // world)
