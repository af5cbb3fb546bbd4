"""Files and folders a user names: atomic writes, whole-folder outputs, clear I/O errors.

Every command writes through these helpers, so a fault of one kind is handled the
same way everywhere:

- :func:`atomic_write` writes a file through a temporary file in the same folder,
  ``fsync``, then ``os.replace``: a reader (or a later run) sees the old file or the
  new one, never half of one, and a failed write leaves the old file as it was.
- :func:`output_folder` builds a whole output folder in a temporary sibling and
  swaps it in at the end; :func:`check_output_folder` refuses an existing non-empty
  one (without ``--overwrite``) before any work starts.
- :func:`guard` and :func:`os_error_message` turn an ``OSError`` (a full disk, a
  read-only folder, a path under a regular file) into a ``UserError`` that names the
  file and the fix; ``intergan.cli`` applies the same rule to any ``OSError`` that
  reaches it, so no I/O fault is ever a traceback.
- :func:`read_json_object` reads a JSON file a user gave (``config.json``,
  ``judge.json``): unreadable, not UTF-8, not JSON or not an object is a
  ``UserError`` naming the file.

What these helpers make gets the mode of any new file or folder under the umask
(:func:`intergan.permissions.follow_umask`, usually 0644 / 0755), whatever the
writer or temporary folder it went through would have given it (safetensors and
``tempfile`` make private 0600 / 0700 ones).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from intergan.errors import UserError
from intergan.permissions import follow_umask

_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
# .NAME.tmpPID (a file) or .NAME.tmp-PID / .NAME.tmpPID-XXXX (a folder): process PID's
_TMP = re.compile(r"^\.(.+)\.tmp-?(\d+)(-[0-9a-f]+)?$")


def os_error_message(e: OSError, path: str | os.PathLike | None = None, action: str = "") -> str:
    """One line for ``e``: what failed, on which file, and what to do about it."""
    where = path if path is not None else e.filename
    if where is None:
        what = "I/O error"
    else:
        what = f"cannot {action} {where}" if action else str(where)
    reason = e.strerror or str(e) or type(e).__name__
    if e.errno in _FULL:
        fix = "the disk is full (or over a file size limit): free some space or write elsewhere"
    elif e.errno in _DENIED:
        fix = "choose a folder you can write to (this one is read-only or not yours)"
    elif e.errno == errno.ENOTDIR:
        fix = "a part of the path is a file, not a folder: choose another path"
    elif e.errno == errno.EISDIR:
        fix = "it is a folder: give a file path"
    elif e.errno == errno.ENOENT:
        fix = "check the path"
    else:
        fix = "check the path and the disk"
    return f"{what}: {reason}; {fix}"


def os_error_in(e: BaseException) -> OSError | None:
    """``e`` itself, or the ``OSError`` behind it (``torch.save`` reports a failed write
    as ``RuntimeError: unexpected pos``, with the ``OSError`` as its context)."""
    seen = 0
    while e is not None and seen < 8:
        if isinstance(e, OSError):
            return e
        e = e.__cause__ or e.__context__
        seen += 1
    return None


@contextlib.contextmanager
def guard(path: str | os.PathLike, action: str = "write", exact: bool = True) -> Iterator[None]:
    """Turn an ``OSError`` raised inside into a ``UserError`` naming ``path``.

    ``exact=False``: name the error's own file when it has one (``path`` is then only
    where the work happens, e.g. a run folder).
    """
    try:
        yield
    except UserError:
        raise
    except Exception as e:
        err = os_error_in(e)
        if err is None:
            raise
        if not exact and err.filename is not None:
            raise UserError(os_error_message(err)) from e
        raise UserError(os_error_message(err, path, action)) from e


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def atomic_write(
    path: str | os.PathLike,
    data: bytes | str | Callable[[IO[bytes]], None] = b"",
    *,
    by_path: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``path`` whole or not at all; returns it.

    ``data``: the bytes or text (UTF-8) to write, or a function that writes into the
    open binary file it is given (``torch.save``, ``PIL.Image.save`` with a format).
    ``by_path``: instead, a function that writes the file at the path it is given
    (for writers that only take a file name, e.g. the ONNX exporter). Failures are a
    ``UserError`` naming ``path``; the temporary file is removed and an existing
    ``path`` is left as it was. The file gets the mode a new file gets under the umask.
    """
    path = Path(path)
    tmp = _tmp_name(path)
    with guard(path):
        try:
            if by_path is not None:
                by_path(tmp)
                _fsync(tmp)
            else:
                with open(tmp, "wb") as f:
                    if callable(data):
                        data(f)
                    else:
                        f.write(data.encode() if isinstance(data, str) else data)
                    f.flush()
                    os.fsync(f.fileno())
            follow_umask(tmp)  # a writer (or an earlier failed run) may have made it private
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """``data`` as indented JSON, atomically (see :func:`atomic_write`)."""
    return atomic_write(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def remove_stale_temps(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the temporary files and folders in ``folder`` (only those of output
    ``name`` when given) left by processes that no longer run: a kill during a
    write. Returns what was removed."""
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if not m or (name is not None and m.group(1) != name) or _alive(int(m.group(2))):
            continue
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def read_json_object(path: str | os.PathLike, what: str, fix: str) -> dict[str, Any]:
    """The JSON object in ``path``, or a ``UserError`` naming it (``what``: "config
    file") and ending with ``fix`` (what to do: re-export, train again...)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist; {fix}") from None
    except OSError as e:
        raise UserError(os_error_message(e, path, "read")) from None
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not UTF-8 text (a binary file?); {fix}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{what} {path} is not valid JSON ({e}); {fix}") from None
    if not isinstance(data, dict):
        raise UserError(
            f"{what} {path} holds a JSON {type(data).__name__}, not an object "
            f'({{"name": value, ...}}); {fix}'
        )
    return data


def _first_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable_folder(folder: str | os.PathLike, flag: str = "--out") -> None:
    """Fail now, before any work, if ``folder`` could not be created or written to.

    Creates nothing: probes the deepest existing part of the path with a temporary file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{flag} {folder} is a file, not a folder; choose another path")
    base = _first_existing(folder)
    what = f"cannot write the output folder {flag} {folder}"
    if not base.is_dir():
        raise UserError(f"{what}: {base} is a file, not a folder; choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=".intergan-probe-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        reason = os_error_message(e, base, "write in")
        raise UserError(f"{what}: {reason}") from None


def check_output_folder(out: str | os.PathLike, overwrite: bool, flag: str = "--out") -> None:
    """Refuse an output folder that exists and is not empty (unless ``overwrite``, and
    even then one that :func:`check_replaceable` refuses), a file in its place, or a
    path that cannot be written; call before any work."""
    out = Path(out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UserError(
                f"{flag} {out} exists and is not empty; pass --overwrite to replace it "
                "or choose another folder"
            )
        check_replaceable(out, flag)
    check_writable_folder(out, flag)


def check_replaceable(out: Path, flag: str = "--out") -> None:
    """What ``--overwrite`` never replaces whole: the working folder or one above it,
    the home folder, or a training run (a folder with ``checkpoints/``, or holding one)."""
    dst, cwd = out.resolve(), Path.cwd().resolve()
    if dst == cwd or dst in cwd.parents or dst == Path.home().resolve():
        raise UserError(
            f"{flag} {out} is the working folder, one above it or the home folder; "
            "--overwrite replaces a whole folder: choose a new folder"
        )
    found = (*dst.glob("checkpoints"), *dst.glob("*/checkpoints"))  # a run, an ablation's
    runs = [p.parent for p in found if p.is_dir()]
    if runs:
        raise UserError(
            f"{flag} {out} holds the training run {runs[0]}; --overwrite would delete it: "
            "choose another folder"
        )


def check_not_an_input(out: str | os.PathLike, inputs: dict[str, Any], flag: str = "--out") -> None:
    """Refuse an output folder that is one of the command's inputs or holds one:
    replacing it whole (``--overwrite``) would delete that input. ``inputs``: flag ->
    path (a folder or a file)."""
    dst = Path(out).resolve()
    for name, path in inputs.items():
        src = Path(path).resolve()
        if dst == src or dst in src.parents:
            raise UserError(f"{flag} {out} is {name} {path} or holds it; write into a new folder")


def make_parents(path: Path) -> list[Path]:
    """``mkdir -p path.parent``; returns the folders it created (deepest last)."""
    created = []
    p = path.absolute().parent
    while not p.exists() and p != p.parent:
        created.append(p)
        p = p.parent
    for d in reversed(created):
        d.mkdir()
    return list(reversed(created))


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest last) that are empty: what a failed command created."""
    for d in reversed(folders):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def output_folder(
    out: str | os.PathLike, overwrite: bool = False, flag: str = "--out"
) -> Iterator[Path]:
    """Yield a temporary folder beside ``out`` to fill; on success it replaces ``out``
    whole (the old one is removed only then); on failure it is removed and ``out``
    (and its parents) are as they were. Checks ``out`` first (:func:`check_output_folder`).
    The folder gets the mode a new folder gets under the umask.
    """
    out = Path(out)
    check_output_folder(out, overwrite, flag)
    with guard(out, "write"):
        created = make_parents(out)
        remove_stale_temps(out.parent, out.name)
        tmp = out.parent / f".{out.name}.tmp{os.getpid()}-{secrets.token_hex(3)}"
        try:
            tmp.mkdir()  # not mkdtemp (0700): `tmp` becomes `out`
            follow_umask(tmp)
        except BaseException:
            remove_empty(created)
            raise
    try:
        with guard(out, "write"):
            yield tmp
            swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise


def swap_in(tmp: Path, out: Path) -> None:
    """Rename the finished folder ``tmp`` to ``out``, replacing an old ``out`` only now."""
    old = None
    if out.exists() or out.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "previous")
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:  # put the previous output back
            os.replace(old / "previous", out)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_safetensors(path: str | os.PathLike, what: str, fix: str) -> dict[str, Any]:
    """The tensors of a ``.safetensors`` file, all finite; else a ``UserError`` naming
    the file (``what``: "generator weights") and ending with ``fix``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    try:
        state = load_file(str(path))
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist; {fix}") from None
    except OSError as e:
        raise UserError(os_error_message(e, path, "read")) from None
    except (SafetensorError, ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(
            f"{what} {path} is not a readable safetensors file ({first}: truncated or "
            f"damaged?); {fix}"
        ) from None
    for name, t in state.items():
        if t.is_floating_point() and not bool(t.isfinite().all()):
            raise UserError(f"{what} {path} holds NaN or infinite values (in {name}); {fix}")
    return state


def state_dict_error(e: Exception) -> str:
    """The telling line of ``load_state_dict``'s error (its first line only names the class)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[1] if len(lines) > 1 else lines[0] if lines else type(e).__name__)[:300]
