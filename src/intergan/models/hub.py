"""Models on the Hugging Face Hub: ``--model org/name[@revision]``.

An exported folder (``config.json`` + ``generator.safetensors``, optionally the judge,
the ONNX graphs and the model card ``README.md``) uploads to a Hub model repository as
is, and :func:`download` fetches one back through ``huggingface_hub`` (the ``hub``
extra): its cache (``HF_HOME``, ``HF_HUB_CACHE``), offline mode (``HF_HUB_OFFLINE=1``:
cached files only), its tokens (``hf auth login``, ``HF_TOKEN``) and endpoint
(``HF_ENDPOINT``). Only an export's own files are downloaded (``allow_patterns``).
``intergan.models.pretrained.resolve_model`` calls this for a ``--model`` value that
is neither a local path nor a local name; :func:`cached_models` lists the exports in
the cache for ``intergan models``.
"""

from __future__ import annotations

import re
from pathlib import Path

from intergan.errors import UserError

HUB_EXTRA = "pip install 'intergan[hub]'"
# what an export holds (intergan.models.io, models.export); nothing else is fetched
MODEL_PATTERNS = (
    "config.json",
    "generator.safetensors",
    "generator*.onnx",
    "judge.json",
    "judge.safetensors",
    "README.md",
)
JUDGE_PATTERNS = ("judge.json", "judge.safetensors", "README.md")
# the Hub's repository id rules: org/name, letters, digits, - _ . ; optional @revision
_HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]*[A-Za-z0-9_])(?:@(?P<rev>[^\s@]+))?$")


def parse_hub_id(text: str) -> tuple[str, str | None] | None:
    """``"org/name@rev"`` -> ``("org/name", "rev")``; None when ``text`` is not a
    Hub id (``..`` in it, more than one ``/``, a leading ``.``, ``/`` or ``~``)."""
    m = _HUB_ID.match(text.strip())
    if not m or ".." in m["repo"] or "--" in m["repo"]:
        return None
    return m["repo"], m["rev"]


def _client():
    try:
        import huggingface_hub
    except ImportError:
        return None
    return huggingface_hub


def available() -> bool:
    """True when huggingface_hub (the ``hub`` extra) is installed."""
    return _client() is not None


def download(
    hub_id: str, revision: str | None = None, patterns: tuple[str, ...] = MODEL_PATTERNS
) -> Path:
    """The local snapshot folder of Hub repository ``hub_id`` (``org/name[@rev]``),
    downloaded (only ``patterns``) into the Hugging Face cache when not there yet.

    ``revision`` (a branch, tag or commit) and an ``@rev`` suffix must agree.
    Every failure is a ``UserError`` that names the fix.
    """
    parsed = parse_hub_id(hub_id)
    if parsed is None:
        raise UserError(f"{hub_id!r} is not a Hugging Face Hub id (org/name or org/name@revision)")
    repo, rev = parsed
    if rev and revision and rev != revision:
        raise UserError(f"{hub_id} names revision {rev!r} but revision={revision!r} was given")
    revision = rev or revision
    hub = _client()
    if hub is None:
        raise UserError(
            f"{hub_id} is not a local file or folder, and loading it from the Hugging Face "
            f"Hub needs the huggingface_hub package: {HUB_EXTRA}"
        )
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from intergan import __version__

    try:
        folder = hub.snapshot_download(
            repo,
            revision=revision,
            allow_patterns=list(patterns),
            library_name="intergan",
            library_version=__version__,
        )
    except (HfHubHTTPError, LocalEntryNotFoundError) as e:
        raise _explain(e, repo, revision) from None
    return Path(folder)


def _explain(error: Exception, repo: str, revision: str | None) -> UserError:
    """A failed download as one line that names the fix."""
    from huggingface_hub import constants, errors

    where = repo + (f"@{revision}" if revision else "")
    if isinstance(error, errors.RevisionNotFoundError):
        return UserError(f"the Hub repository {repo} has no revision {revision!r}")
    if isinstance(error, errors.RepositoryNotFoundError):
        return UserError(
            f"{where} is neither a local file or folder nor a Hugging Face Hub repository "
            "you can read (private ones need `hf auth login` or HF_TOKEN)"
        )
    if isinstance(error, errors.LocalEntryNotFoundError):
        offline = constants.HF_HUB_OFFLINE or isinstance(
            error.__cause__, errors.OfflineModeIsEnabled
        )
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        why = "HF_HUB_OFFLINE is set" if offline else f"the Hub could not be reached ({first})"
        return UserError(
            f"{where} is not a local path and not in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}), and {why}; download it once online, "
            "or pass a local folder"
        )
    return UserError(f"the Hugging Face Hub refused {where}: {str(error).splitlines()[0]}")


def cached_models() -> list[tuple[str, Path, int]]:
    """``(repo id, snapshot folder, bytes)`` of every cached Hub model revision that is
    an intergan export (``config.json`` + ``generator.safetensors``); empty when
    huggingface_hub is missing or its cache is empty."""
    hub = _client()
    if hub is None:
        return []
    from huggingface_hub import constants
    from huggingface_hub.errors import CacheNotFound

    try:
        info = hub.scan_cache_dir(constants.HF_HUB_CACHE)
    except (CacheNotFound, OSError):
        return []
    found = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for rev in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
            names = {f.file_name for f in rev.files}
            if {"config.json", "generator.safetensors"} <= names:
                found.append((repo.repo_id, Path(rev.snapshot_path), rev.size_on_disk))
                break  # the newest revision of each repository
    return found
