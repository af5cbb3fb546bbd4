"""File modes that follow the umask, for files made by tools that make them private.

``tempfile.mkdtemp`` makes folders 0700 and safetensors writes files 0600; a result
renamed into place from one of them should get the mode any other new file gets
(0666 or 0777 less the umask, usually 0644 / 0755), like the JSON and PNGs beside it.
The writers in :mod:`intergan.files` (``atomic_write``, ``output_folder``) apply it to
everything they make, so commands need not.
"""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def follow_umask(path: str | os.PathLike) -> None:
    """Give ``path`` the mode a newly created file (or folder) gets under the umask."""
    mode = 0o777 if Path(path).is_dir() else 0o666
    os.chmod(path, mode & ~current_umask())
