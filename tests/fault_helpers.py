"""Running ``intergan`` the way a user meets faults: in a subprocess, with a time
limit (a hang fails the test), optionally on a "full disk".

A full disk is simulated with ``RLIMIT_FSIZE``: no file may grow beyond ``fsize``
bytes. ``SIGXFSZ`` is ignored so an over-long write fails with ``EFBIG`` (an
``OSError``, as ``ENOSPC`` is on a full disk) instead of killing the process. This
needs no root and no mounting.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import intergan

SRC = str(Path(intergan.__file__).resolve().parents[1])  # the package under test

_RUNNER = """
import resource, signal, sys
fsize = int(sys.argv[1])
if fsize >= 0:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
from intergan.cli import main
sys.exit(main(sys.argv[2:]))
"""


def intergan_cli(
    *args, cwd: Path | None = None, fsize: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``intergan ARGS`` in a new process (``fsize``: the largest file it may write).

    Raises ``subprocess.TimeoutExpired`` (after killing its whole process group) if
    it has not exited within ``timeout`` seconds.
    """
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-c", _RUNNER, str(-1 if fsize is None else fsize), *map(str, args)]
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def error_line(err: str) -> str:
    """The one ``error: ...`` line of a failed command's stderr (and nothing like a traceback)."""
    assert "Traceback" not in err, err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err[-3000:]
    return lines[0]


def temp_leftovers(folder: Path) -> list[str]:
    """Names of temporary files or folders (``.NAME.tmp...``) anywhere under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*tmp*"))


@contextlib.contextmanager
def read_only_folder(path: Path):
    """An empty folder nobody can write into, root included (``chattr +i`` for root,
    who ignores permission bits; ``chmod 500`` otherwise); skips where neither works."""
    import pytest

    path.mkdir()
    root = os.geteuid() == 0
    if root:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    else:
        path.chmod(0o500)
        made = True
    try:
        if not made or os.access(path, os.W_OK) and _can_create(path):
            pytest.skip("cannot make a read-only folder here")
        yield path
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            path.chmod(0o700)


def _can_create(folder: Path) -> bool:
    try:
        (folder / "probe").touch()
    except OSError:
        return False
    (folder / "probe").unlink()
    return True
