"""The training engine: schedule, exact resume after SIGKILL, signals, the non-finite
stop, config mismatches, DDP on CPU. Tiny preset, 32 px, batch 4, a few steps.

The data here is a small in-memory ``TensorDataset`` of uint8 images and {0,1}
labels (the dataset item contract); the CLI tests use a folder on disk.
"""

import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

import intergan
from intergan.config import Config, model_config
from intergan.data.order import EpochSampler
from intergan.errors import UserError
from intergan.models import io
from intergan.training import train
from intergan.training.loop import NonFiniteLossError
from intergan.training.schedule import lr_at, n_d_at, steps_for_epochs
from intergan.training.steps import make_targets

SRC = str(Path(intergan.__file__).resolve().parents[1])  # the package under test


def tiny_data(n: int = 24, n_attrs: int = 13, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = (torch.rand(n, n_attrs, generator=g) < 0.5).float()
    return TensorDataset(images, labels)


def tiny_config(**train) -> Config:
    cfg = Config(model=model_config("tiny", "intergan", 32))
    cfg.train.steps, cfg.train.batch_size, cfg.train.n_d = 6, 4, 2
    cfg.train.checkpoint_every, cfg.train.sample_every, cfg.train.log_every = 2, 3, 2
    cfg.data.num_workers = 0
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    different = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not different, f"tensors differ: {different[:5]}"


# --- schedule ------------------------------------------------------------------------
def test_lr_drops_tenfold_at_the_configured_fraction():
    cfg = tiny_config(steps=10, lr=1e-3, lr_decay_at=0.5).train
    assert [lr_at(cfg, s) for s in (0, 4, 5, 9)] == [1e-3, 1e-3, 1e-4, 1e-4]
    cfg.lr_decay_at = 1.0
    assert lr_at(cfg, 9) == 1e-3  # never drops
    cfg.n_d = 2
    assert steps_for_epochs(1, batches_per_epoch=6, cfg=cfg) == 2  # 6 batches, 3 per step
    cfg.n_d_warmup = 2  # two steps of 2 batches, then 3 per step: ceil(2 / 3) more
    assert steps_for_epochs(1, batches_per_epoch=6, cfg=cfg) == 3
    assert [n_d_at(cfg, s) for s in (0, 1, 2, 5)] == [1, 1, 2, 2]


def test_schedule_in_a_real_run_and_after_resume(tmp_path):
    seen = {}

    def record(event, step, trainer):
        if event == "after_d":
            seen[step] = trainer.opt_D.param_groups[0]["lr"], trainer.opt_G.param_groups[0]["lr"]

    cfg = tiny_config(steps=4, lr=1e-3, lr_decay_at=0.5, checkpoint_every=1, keep_last=2)
    r = train(cfg, tmp_path / "run", dataset=tiny_data(), on_event=record)
    assert seen == {0: (1e-3, 1e-3), 1: (1e-3, 1e-3), 2: (1e-4, 1e-4), 3: (1e-4, 1e-4)}
    # n_d D updates per G update, each on its own batch: 4 steps x (2 + 1) batches
    assert r.trainer.opt_D.state_dict()["state"][0]["step"].item() == 8
    assert r.trainer.opt_G.state_dict()["state"][0]["step"].item() == 4
    pos = r.stream.position()
    assert pos["epoch"] * r.stream.batches_per_epoch + pos["batch"] == 12
    # keep_last=2: steps 3 and 4 remain. The drop was fixed at step 2 when the run
    # started and is saved with it: resuming from step 3 with a longer run keeps it
    kept = io.list_checkpoints(tmp_path / "run" / "checkpoints")
    assert [s for s, _ in kept] == [3, 4]
    saved = Config.load(tmp_path / "run" / "config.json")
    assert saved.train.lr_decay_step == 2
    seen.clear()
    cfg.train.steps = 8
    train(cfg, tmp_path / "run2", resume=kept[0][1], dataset=tiny_data(), on_event=record)
    assert seen == {s: (1e-4, 1e-4) for s in range(3, 8)}
    # placing it anew is an explicit choice: a fixed step (the CLI's --lr-decay-at
    # clears it, so it is recomputed from the new length, here round(0.5 * 8) = 4)
    seen.clear()
    cfg.train.lr_decay_step = 4
    train(cfg, tmp_path / "run3", resume=kept[0][1], dataset=tiny_data(), on_event=record)
    assert seen == {3: (1e-3, 1e-3)} | {s: (1e-4, 1e-4) for s in range(4, 8)}


def test_n_d_warmup_takes_one_d_step_then_n_d_also_across_a_resume(tmp_path):
    counts = {}

    def record(event, step, trainer):
        if event == "after_d":
            counts[step] = int(trainer.opt_D.state_dict()["state"][0]["step"].item())

    cfg = tiny_config(steps=2, n_d=3, n_d_warmup=3, checkpoint_every=1)
    train(cfg, tmp_path / "run", dataset=tiny_data(), on_event=record)
    cfg.train.steps = 5  # stopped inside the warm-up, resumed with a longer run
    r = train(cfg, tmp_path / "run", resume="latest", dataset=tiny_data(), on_event=record)
    # D updates done by the end of each step's D phase: 1, 2, 3, then 3 more per step
    assert counts == {0: 1, 1: 2, 2: 3, 3: 6, 4: 9}
    pos = r.stream.position()
    assert pos["epoch"] * r.stream.batches_per_epoch + pos["batch"] == 3 * 2 + 2 * 4


def test_n_d_warmup_is_the_two_phase_run_in_one_command(tmp_path):
    """--n-d-warmup 2 --n-d 3 trains exactly as --n-d 1 for 2 steps, resumed with --n-d 3
    (how the bundled model was made, docs/bundled-model.md)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # float sums depend on the thread split
    try:
        one = train(
            tiny_config(steps=4, n_d=3, n_d_warmup=2), tmp_path / "one", dataset=tiny_data()
        )
        phase = tiny_config(steps=2, n_d=1, lr_decay_step=2)
        train(phase, tmp_path / "two", dataset=tiny_data())
        phase.train.steps, phase.train.n_d = 4, 3
        two = train(phase, tmp_path / "two", resume="latest", dataset=tiny_data())
    finally:
        torch.set_num_threads(threads)
    assert one.trainer.cfg.lr_decay_step == 2 == round(0.5 * 4)
    for name in ("G", "D"):
        assert_same_weights(getattr(one.trainer, name), getattr(two.trainer, name))


def test_cli_resume_with_a_longer_run_keeps_the_lr_drop(tmp_path):
    import json

    run = tmp_path / "run"
    cfg = tiny_config(steps=4, lr=1e-3, lr_decay_at=0.5, checkpoint_every=2)
    train(cfg, run, dataset=tiny_data())
    from intergan.training.cli import plan_from_args

    def resolved(*extra):
        import argparse

        from intergan.training.cli import add_arguments

        p = argparse.ArgumentParser()
        add_arguments(p)
        args = p.parse_args(["--out", str(run), "--resume", "latest", "--steps", "10", *extra])
        return plan_from_args(args, tiny_data())[0].config.train  # as the run uses it

    assert json.loads((run / "config.json").read_text())["train"]["lr_decay_step"] == 2
    assert resolved().lr_decay_step == 2  # --steps alone never moves it
    assert resolved("--lr-decay-at", "0.5").lr_decay_step == 5  # asked again: this length's
    assert resolved("--lr-decay-at", "0.8").lr_decay_step == 8


def test_a_saved_config_at_another_size_takes_that_sizes_bottleneck(tmp_path):
    import argparse

    from intergan.training.cli import _load_base, add_arguments, resolve_config

    Config(model=model_config("small", "intergan", 64)).save(tmp_path / "config.json")
    saved = json.loads((tmp_path / "config.json").read_text())["model"]["bottleneck"]

    def resolved(*extra):
        p = argparse.ArgumentParser()
        add_arguments(p)
        args = p.parse_args(["--config", str(tmp_path / "config.json"), "--out", "r", *extra])
        return resolve_config(args, _load_base(args)[0]).model

    assert resolved().bottleneck == saved  # the file's side, at the file's size
    assert resolved("--size", "32").bottleneck_size == 8  # not 64 px's side at 32 px
    assert resolved("--preset", "tiny").bottleneck_size == 8
    assert resolved("--size", "32", "--set", "model.bottleneck=4").bottleneck == 4


def test_targets_are_shuffled_batch_labels_with_optional_jitter():
    cfg = tiny_config().train
    source = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    target, t_enc, s_enc = make_targets(source, cfg, torch.Generator().manual_seed(1))
    rows = sorted(map(tuple, target.tolist()))
    assert rows == sorted(map(tuple, source.tolist()))  # a permutation of the rows
    assert torch.equal(t_enc, (target * 2 - 1) * 0.5) and torch.equal(s_enc, source - 0.5)
    for dist in ("uniform", "truncated_normal"):
        cfg.b_distribution = dist
        target, t_enc, _ = make_targets(source, cfg, torch.Generator().manual_seed(1))
        assert torch.equal(torch.sign(t_enc), target * 2 - 1)  # sign follows the target
        assert bool((t_enc.abs() <= 2 * cfg.thres_int).all())


def test_epoch_sampler_splits_ranks_and_resumes_mid_epoch():
    full = [list(EpochSampler(22, 2, seed=3, epoch=1, start=0, rank=r, world=2)) for r in (0, 1)]
    assert len(full[0]) == len(full[1]) == 10  # 5 whole batches per rank, 2 left out
    assert not set(full[0]) & set(full[1])
    assert list(EpochSampler(22, 2, 3, 1, start=2, rank=1, world=2)) == full[1][4:]
    assert full[0] != list(EpochSampler(22, 2, 3, epoch=2, start=0, rank=0, world=2))


# --- exact resume after SIGKILL ------------------------------------------------------
KILL_SCRIPT = """
import os, signal, sys, torch
from torch.utils.data import TensorDataset
from intergan.config import Config
from intergan.training import train
cfg = Config.load(sys.argv[1])
data = TensorDataset(*torch.load(sys.argv[2]))
when = (sys.argv[4], int(sys.argv[5]))
def hook(event, step, trainer):
    if (event, step) == when:
        os.kill(os.getpid(), signal.SIGKILL)
train(cfg, sys.argv[3], dataset=data, on_event=hook)
"""


@pytest.mark.parametrize("event,step", [("checkpoint", 4), ("after_d", 3)])
def test_sigkill_then_resume_is_bit_exact(tmp_path, event, step):
    """Killed at a checkpoint boundary or mid-step (after the D updates of step 3,
    one step past the checkpoint at 2), then resumed: the same weights as one go."""
    cfg = tiny_config(ema=0.9, b_distribution="truncated_normal")  # flips on (default)
    data = tiny_data()
    cfg.save(tmp_path / "cfg.json")
    torch.save(data.tensors, tmp_path / "data.pt")
    run = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    args = [str(tmp_path / "cfg.json"), str(tmp_path / "data.pt"), str(run), event, str(step)]
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, *args], env=env)
    assert proc.returncode == -signal.SIGKILL
    # the kill left a loadable checkpoint and a pointer to it
    last = io.load_checkpoint(io.find_checkpoint(run))
    assert last["step"] == (4 if event == "checkpoint" else 2)
    # the killed run used one thread; so must these (float sums depend on the split)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        resumed = train(cfg, run, resume="latest", dataset=data)
        once = train(cfg, tmp_path / "once", dataset=data)
    finally:
        torch.set_num_threads(threads)
    assert resumed.step == once.step == 6
    for name in ("G", "D", "G_ema"):
        assert_same_weights(getattr(resumed.trainer, name), getattr(once.trainer, name))
    assert resumed.trainer.opt_G.state_dict()["state"][0]["exp_avg"].equal(
        once.trainer.opt_G.state_dict()["state"][0]["exp_avg"]
    )


# --- stopping ------------------------------------------------------------------------
def test_sigterm_saves_a_checkpoint_then_stops(tmp_path):
    def hook(event, step, t):
        if (event, step) == ("after_d", 2):  # mid-step: step 2 completes, then it stops
            os.kill(os.getpid(), signal.SIGTERM)

    r = train(
        tiny_config(checkpoint_every=100), tmp_path / "run", dataset=tiny_data(), on_event=hook
    )
    assert r.stopped and r.step == 3
    assert io.load_checkpoint(io.find_checkpoint(tmp_path / "run"))["step"] == 3
    assert "stopped by a signal after step 3" in (tmp_path / "run" / "log.txt").read_text()


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    def poison(event, step, trainer):
        if (event, step) == ("step", 2):  # after checkpoint 2 was written
            with torch.no_grad():
                next(trainer.G.parameters()).fill_(float("nan"))

    run = tmp_path / "run"
    with pytest.raises(NonFiniteLossError) as e:
        train(tiny_config(), run, dataset=tiny_data(), on_event=poison)
    assert "non-finite loss at step 3 (" in str(e.value) and "g_loss=nan" in str(e.value)
    assert "last good checkpoint is " + str(run / "checkpoints" / "step_0000002.pt") in str(e.value)
    ckpt = io.load_checkpoint(io.find_checkpoint(run))
    assert ckpt["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())
    G, cfg = io.load_generator(run, ema=False)
    assert cfg.train.steps == 6 and not any(p.isnan().any() for p in G.parameters())


# --- configuration -------------------------------------------------------------------
def test_resume_with_another_architecture_names_each_field(tmp_path):
    cfg = tiny_config(steps=1)
    train(cfg, tmp_path / "run", dataset=tiny_data())
    other = tiny_config(steps=2)
    other.model = model_config("tiny", "intergan", 32, "paper11", enc_dim=8)
    with pytest.raises(UserError) as e:
        train(other, tmp_path / "run", resume="latest", dataset=tiny_data(n_attrs=11))
    msg = str(e.value)
    assert "model.enc_dim: checkpoint 4, now 8" in msg
    assert "model.attrs" in msg and "removed ['Bald', 'Bangs']" in msg
    assert "model.variant" not in msg
    with pytest.raises(UserError, match="already holds checkpoints"):
        train(cfg, tmp_path / "run", dataset=tiny_data())  # no --resume: refuses to overwrite


def test_load_generator_returns_the_trained_weights(tmp_path):
    r = train(tiny_config(steps=2, ema=0.5), tmp_path / "run", dataset=tiny_data())
    G, cfg = io.load_generator(tmp_path / "run", ema=False)
    assert_same_weights(G, r.trainer.G)
    G_ema, _ = io.load_generator(tmp_path / "run" / "checkpoints" / "step_0000002.pt")
    assert_same_weights(G_ema, r.trainer.G_ema)
    trained = r.trainer.G.cfg  # bottleneck 0: the file names the side it resolved to
    assert not G.training and cfg.model == replace(trained, bottleneck=trained.bottleneck_size)


def test_ema_ramps_up_so_early_averages_are_not_the_random_init(tmp_path):
    from intergan.training.steps import ema_decay

    assert ema_decay(0.999, 0) == pytest.approx(0.1)  # first update: mostly the new G
    assert ema_decay(0.999, 90) == pytest.approx(0.91)
    assert ema_decay(0.999, 100_000) == 0.999
    # after one step the EMA is 0.1 * init + 0.9 * G, not 0.999 * init
    cfg = tiny_config(steps=1)  # the default run keeps the ramped EMA (0.999)
    torch.manual_seed(cfg.train.seed)
    from intergan.models import build_generator

    init = build_generator(cfg.model)
    r = train(cfg, tmp_path / "run", dataset=tiny_data())
    for pe, p0, p in zip(r.trainer.G_ema.parameters(), init.parameters(), r.trainer.G.parameters()):
        torch.testing.assert_close(pe, 0.1 * p0 + 0.9 * p, rtol=1e-5, atol=1e-6)
    shipped, _ = io.load_generator(tmp_path / "run")  # what export and evaluate take
    assert_same_weights(shipped, r.trainer.G_ema)
    plain = train(tiny_config(steps=1, ema=0.0), tmp_path / "plain", dataset=tiny_data())
    assert plain.trainer.G_ema is None  # --ema 0: the paper's plain weights only


# --- distributed ---------------------------------------------------------------------
def _ddp_worker(rank: int, world: int, port: int, root: str) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    cfg = tiny_config(steps=3, sample_every=2, log_every=1)
    # rank 1 is given its own folder: anything it wrote would show up there
    r = train(cfg, Path(root) / f"run{rank}", dataset=tiny_data(n=40))
    torch.save(
        {"G": r.trainer.G.state_dict(), "D": r.trainer.D.state_dict()},
        Path(root) / f"weights{rank}.pt",
    )


def test_ddp_two_processes_on_cpu(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2)
    w0, w1 = (torch.load(tmp_path / f"weights{r}.pt") for r in (0, 1))
    for net in ("G", "D"):
        assert all(torch.equal(w0[net][k], w1[net][k]) for k in w0[net]), net
    assert not (tmp_path / "run1").exists()  # rank 1 wrote nothing
    run = tmp_path / "run0"
    assert io.load_checkpoint(io.find_checkpoint(run))["step"] == 3
    assert len((run / "stats.jsonl").read_text().splitlines()) == 3  # one line per step
    assert "2 process(es)" in (run / "log.txt").read_text()
    # the checkpoint holds each rank's random streams, for an exact resume
    assert io.load_checkpoint(io.find_checkpoint(run))["rng"]["world"] == 2
    assert (run / "samples" / "step_0000002.png").is_file()
    # CTI's batch norm: per process on CPU, and the log says why
    assert (
        "batch norm in G: statistics per process (SyncBatchNorm runs on GPUs only)"
        in (run / "log.txt").read_text()
    )


def test_sync_batch_norm_only_for_several_gpu_processes_and_checkpoints_unchanged(monkeypatch):
    from intergan.models import build_generator
    from intergan.training import distributed as dist

    cfg = tiny_config()
    G = build_generator(cfg.model)
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert not dist.sync_batch_norm(G, cuda, True)  # alone: nothing to sync
    monkeypatch.setattr(dist, "world_size", lambda: 2)
    assert dist.sync_batch_norm(G, cuda, True)
    assert not dist.sync_batch_norm(G, cuda, False)  # train.sync_bn=false
    assert not dist.sync_batch_norm(G, cpu, True)  # gloo: no CPU kernel in torch
    assert not dist.sync_batch_norm(torch.nn.Conv2d(3, 3, 1), cuda, True)  # no batch norm
    assert "global batch of 2 processes" in dist.batch_norm_note(G, cuda, True)
    assert "train.sync_bn=false" in dist.batch_norm_note(G, cuda, False)
    # a checkpoint written by a SyncBatchNorm run loads into the plain model
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(build_generator(cfg.model))
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.modules())
    G.load_state_dict(synced.state_dict(), strict=True)


def test_trainer_trains_the_synced_generator_and_keeps_the_ema_and_d_plain(monkeypatch):
    # what build_trainer does where sync_batch_norm says yes (several GPU processes),
    # checked on the CPU: no forward runs, so no process group is needed
    from intergan.training import distributed as dist
    from intergan.training.steps import build_trainer

    monkeypatch.setattr(dist, "sync_batch_norm", lambda module, device, enabled: True)
    cfg = tiny_config()
    cfg.model.dis_norm = "batch"  # D's penalty has no SyncBatchNorm double backward
    trainer = build_trainer(cfg, torch.device("cpu"))

    def synced(m):
        return any(isinstance(x, torch.nn.SyncBatchNorm) for x in m.modules())

    assert synced(trainer.G) and trainer.G_train is trainer.G
    assert trainer.G_edit.__self__ is trainer.G  # the D step's fakes use the same G
    assert not synced(trainer.G_ema) and not synced(trainer.D)
    opt_params = {id(p) for g in trainer.opt_G.param_groups for p in g["params"]}
    assert opt_params == {id(p) for p in trainer.G.parameters()}


# --- the command line ----------------------------------------------------------------
@pytest.fixture(scope="module")
def celeba(tmp_path_factory):
    from data_fixtures import make_celeba

    root = tmp_path_factory.mktemp("celeba")
    make_celeba(root, n=12)  # 178x218 JPEGs + list_attr_celeba.txt, all in the train split
    return root


def _cli(*argv):
    from intergan.cli import main

    return main(["train", *map(str, argv)])


def test_cli_trains_resumes_and_fills_the_run_folder(celeba, tmp_path, capsys):
    run = tmp_path / "run"
    common = ("--data", celeba, "--out", run, "--workers", "0", "--no-progress")
    rc = _cli(
        *common,
        "--preset",
        "tiny",
        "--size",
        "32",
        "--attrs",
        "Male,Young,Eyeglasses",
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--n-d",
        "1",
        "--checkpoint-every",
        "2",
        "--sample-every",
        "2",
        "--log-every",
        "1",
        "--keep-last",
        "1",
    )
    assert rc == 0
    cfg = Config.load(run / "config.json")
    assert (cfg.model.preset, cfg.model.img_size, cfg.model.n_attrs) == ("tiny", 32, 3)
    assert (cfg.train.steps, cfg.train.n_d, cfg.data.path) == (3, 1, str(celeba))
    assert (run / "cmd.txt").read_text().startswith("intergan train --data ")
    assert len((run / "stats.jsonl").read_text().splitlines()) == 3
    from PIL import Image

    from intergan.data import build_dataset

    rows = len(build_dataset(celeba, cfg.model.attrs, "valid", 32))  # fixed validation images
    grid = Image.open(run / "samples" / "step_0000003.png")
    header = grid.size[1] - rows * 32  # the column labels
    assert 1 <= rows and grid.size[0] == (2 + 3) * 32 and header > 0  # input, rec., 3 edits
    assert [s for s, _ in io.list_checkpoints(run / "checkpoints")] == [3]  # keep_last 1
    # resume: the architecture comes from the checkpoint; only given flags change
    assert _cli(*common, "--resume", "latest", "--steps", "5") == 0
    assert io.load_checkpoint(io.find_checkpoint(run))["step"] == 5
    assert Config.load(run / "config.json").model == cfg.model
    assert len((run / "cmd.txt").read_text().splitlines()) == 2
    capsys.readouterr()
    assert _cli(*common, "--resume", "latest", "--size", "64", "--attrs", "Male") == 2
    err = capsys.readouterr().err
    assert "model.img_size: checkpoint 32, now 64" in err and "model.attrs" in err


def test_sigterm_to_the_process_group_with_loader_workers(celeba, tmp_path):
    """Like `timeout` or a cluster scheduler: every process of the group (the trainer
    and its data loader worker) gets SIGTERM; the run still checkpoints and exits."""
    import time

    run = tmp_path / "run"
    flags = "--preset tiny --size 32 --steps 100000 --batch-size 1 --n-d 1 --workers 1 "
    flags += "--log-every 1 --checkpoint-every 100000 --sample-every 0 --no-progress"
    argv = ["--data", celeba, "--out", run, *flags.split()]
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "intergan.cli", "train", *map(str, argv)]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    stats = run / "stats.jsonl"
    while not (stats.exists() and stats.read_text().count("\n") >= 3) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert "stopped by a signal" in (run / "log.txt").read_text()
    ckpt = io.load_checkpoint(io.find_checkpoint(run))
    assert ckpt["step"] >= 1 and ckpt["data"]["batch"] >= 2


@pytest.mark.parametrize(
    "flags,message",
    [
        ((), "--data is required"),
        (("--data", "/no/such/folder"), "does not exist"),
        (("--amp", "fp16"), "--amp fp16 needs a CUDA device"),
        # (--steps 0 and --ema 1.5 are refused by the parser: tests/test_cli_numbers.py)
        (("--set", "train.steps=0"), "train.steps (--steps)"),
        (("--set", "train.ema=1.5"), "train.ema (--ema)"),
        (("--set", "train.lamda_rec=3"), "--set 'train.lamda_rec=3'"),
        (("--batch-size", "64"), "fewer than one batch"),
        (("--resume", "latest"), "holds no checkpoint to resume"),
    ],
)
def test_cli_rejects_bad_options_before_training(celeba, tmp_path, capsys, flags, message):
    data = () if "--data" in flags or not flags else ("--data", celeba)
    rc = _cli("--out", tmp_path / "run", "--preset", "tiny", *data, *flags)
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cli_epochs_set_the_number_of_steps(celeba, tmp_path):
    run = tmp_path / "run"
    assert (
        _cli(
            "--data",
            celeba,
            "--out",
            run,
            "--preset",
            "tiny",
            "--size",
            "32",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--n-d",
            "1",
            "--workers",
            "0",
            "--no-progress",
            "--sample-every",
            "0",
        )
        == 0
    )
    from intergan.data import build_dataset

    cfg = Config.load(run / "config.json")
    batches = len(build_dataset(celeba, None, "train", 32)) // 4
    # 2 epochs = 2 * batches batches, read 2 at a time (one D step, one G step)
    assert (cfg.train.epochs, cfg.train.steps) == (2.0, math.ceil(2 * batches / 2))


def test_cli_resume_of_a_finished_run_says_it_is_complete_and_how_to_extend(
    celeba, tmp_path, capsys
):
    run = tmp_path / "run"
    common = ("--data", celeba, "--out", run, "--workers", "0", "--no-progress")
    tiny = ("--preset", "tiny", "--size", "32", "--batch-size", "4", "--n-d", "1")
    assert _cli(*common, *tiny, "--steps", "2", "--sample-every", "0") == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert _cli(*common, "--resume", "latest") == 0
    out = capsys.readouterr().out
    assert f"{run} is complete: step 2 of 2" in out
    assert f"intergan train --out {run} --resume latest --steps 4" in out
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # untouched
    assert _cli(*common, "--resume", "latest", "--steps", "3") == 0  # the advice works
    assert io.load_checkpoint(io.find_checkpoint(run))["step"] == 3


def test_sample_grid_has_a_label_over_every_column():
    from intergan.models import build_generator
    from intergan.training.samples import sample_grid

    cfg = tiny_config()
    G = build_generator(cfg.model)
    images, labels = tiny_data(n=2).tensors
    attrs = cfg.model.attrs
    grid = sample_grid(G, images, labels, attrs, 0.5, 1.0, torch.device("cpu"))
    header_h = grid.shape[0] - 2 * 32
    assert header_h > 0 and grid.shape[1] == (2 + len(attrs)) * 32
    body_input = torch.from_numpy(grid[header_h:, :32]).permute(2, 0, 1)
    assert torch.equal(body_input, torch.cat(list(images), dim=1))  # images under the header
    header = grid[:header_h].min(axis=2)  # (H, W) darkest channel
    columns = [header[:, k * 32 : (k + 1) * 32] for k in range(2 + len(attrs))]
    assert all((c < 128).any() for c in columns)  # every column is labelled
    assert len({c.tobytes() for c in columns}) == len(columns)  # and each differently


def test_missing_tensorboard_is_said_once_at_the_start(tmp_path, monkeypatch):
    from intergan.training.logger import RunLogger

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    logger = RunLogger(tmp_path, total=2, start=0, progress=False)
    logger.stats(1, {"d_loss": 1.0})
    logger.stats(2, {"d_loss": 0.5})
    logger.close()
    log = (tmp_path / "log.txt").read_text()
    assert log.count("TensorBoard logging is off") == 1 and "intergan[tensorboard]" in log
    assert log.index("TensorBoard") < log.index("step 1/2")


# --- the keep term ---------------------------------------------------------------------
def _g_steps(cfg: Config, n: int) -> list[dict]:
    from intergan.images import to_model
    from intergan.training.steps import build_trainer, g_step

    torch.manual_seed(0)
    trainer = build_trainer(cfg, torch.device("cpu"))
    images, labels = tiny_data(8).tensors
    images = images[:, :, :1, :1].expand_as(images)  # flat colours: an edit can match them
    target, target_enc, source_enc = make_targets(
        labels, cfg.train, torch.Generator().manual_seed(1)
    )
    return [g_step(trainer, to_model(images), target, target_enc, source_enc) for _ in range(n)]


def test_the_keep_term_adds_its_weighted_l1_and_holds_the_edit_to_its_input():
    # train.lambda_keep: L1 between the edited image and its input, in G's loss; g_keep
    # is logged whether the term is on or off
    base = dict(amp="none", lambda_rec=0.0, lr=1e-3)  # nothing else pulls towards the input
    off = _g_steps(tiny_config(**base, lambda_keep=0.0), 8)
    on = _g_steps(tiny_config(**base, lambda_keep=30.0), 8)
    first_off, first_on = off[0], on[0]
    assert first_on["g_keep"].item() == pytest.approx(first_off["g_keep"].item())  # same edit
    assert first_on["g_loss"].item() - first_off["g_loss"].item() == pytest.approx(
        30.0 * first_on["g_keep"].item(), rel=1e-4
    )
    # after a few updates the term has pulled the edits towards their inputs (measured:
    # 0.589 -> 0.570 in 8 steps with it, 0.589 -> 0.590 without)
    keep_on, keep_off = on[-1]["g_keep"].item(), off[-1]["g_keep"].item()
    assert keep_on < 0.99 * first_on["g_keep"].item() and keep_on < keep_off - 0.01


def test_a_negative_keep_weight_is_refused_by_name():
    from intergan.config import validate_train

    with pytest.raises(UserError, match="lambda_keep"):
        validate_train(tiny_config(lambda_keep=-1.0), torch.device("cpu"))
