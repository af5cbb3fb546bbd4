"""What intergan writes gets the modes of any new file under the umask: exported
weights, the judge and SynthFaces folders (the demo's ``faces/``) are not left
private by the temporary files and folders they are made through."""

from __future__ import annotations

import os
import stat

import pytest

from intergan.cli import main
from intergan.config import Config, model_config
from intergan.data.synthfaces.export import write_dataset
from intergan.models import build_generator
from intergan.models.io import save_checkpoint
from intergan.models.judge import JudgeArch, build_judge
from intergan.permissions import current_umask


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_reads_the_process_umask(umask):
    assert current_umask() == umask and current_umask() == umask  # and leaves it


def test_exported_model_and_judge_follow_the_umask(umask, tmp_path):
    cfg = Config(model=model_config("tiny"))
    run = tmp_path / "run"
    save_checkpoint(
        {"step": 1, "config": cfg.to_dict(), "G": build_generator(cfg.model).state_dict()}, run
    )
    build_judge(list(cfg.model.attrs), 32, JudgeArch(width=4)).save(tmp_path / "judge")
    out = tmp_path / "export"
    assert main(["export", str(run), "--out", str(out), "--judge", str(tmp_path / "judge")]) == 0
    files = sorted(out.iterdir())
    assert {p.name for p in files} >= {"generator.safetensors", "judge.safetensors"}
    assert {p.name: mode(p) for p in files} == {p.name: 0o666 & ~umask for p in files}
    assert mode(tmp_path / "judge" / "judge.safetensors") == 0o666 & ~umask


def test_synthfaces_folder_follows_the_umask(umask, tmp_path):
    out = write_dataset(tmp_path / "faces", n=2, size=32, seed=0, workers=1)
    assert mode(out) == 0o777 & ~umask
    assert mode(out / "list_attr_celeba.txt") == 0o666 & ~umask


def test_the_shared_writers_apply_the_umask(umask, tmp_path):
    """intergan.files applies the rule once for every command: a writer that makes a
    private file (as safetensors' save_file does) or a temp folder still yields the
    usual modes."""
    from intergan.files import atomic_write, output_folder

    def private_writer(path):
        path.write_bytes(b"x")
        os.chmod(path, 0o600)

    assert mode(atomic_write(tmp_path / "w.bin", by_path=private_writer)) == 0o666 & ~umask
    with output_folder(tmp_path / "out") as tmp:
        assert mode(tmp) == 0o777 & ~umask
    assert mode(tmp_path / "out") == 0o777 & ~umask
