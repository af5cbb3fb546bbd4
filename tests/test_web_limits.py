"""What the web server keeps and what it offers: open photos within bounds (count,
idle time, bytes) and deleted with the server, on SIGTERM too; a model menu of
what the operator named, whose errors name no path."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app_helpers import export_tiny, sample_face, save_png, web_handlers
from intergan.app.store import Expired, Store
from intergan.errors import UserError

pytest.importorskip("gradio")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny") / "tiny")


class Item:
    def __init__(self, nbytes: int = 10):
        self.nbytes = nbytes


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_the_store_keeps_at_most_max_count_dropping_the_least_recently_used(tmp_path):
    store = Store(tmp_path, max_count=3)
    tokens = [store.put(store.new_token(), Item()) for _ in range(3)]
    for t in tokens:
        (store.folder(t) / "after.jpg").write_bytes(b"x")
    store.get(tokens[0])  # used: the oldest is now tokens[1]
    store.put("new", Item())
    assert len(store) == 3 and tokens[1] not in store and tokens[0] in store
    assert not (tmp_path / tokens[1]).exists()  # its files went with it
    with pytest.raises(Expired, match="upload it again"):
        store.get(tokens[1])


def test_the_store_drops_pictures_idle_for_longer_than_idle_s(tmp_path):
    clock = Clock()
    store = Store(tmp_path, idle_s=60, clock=clock)
    a, b = store.put("a", Item()), store.put("b", Item())
    clock.t = 50
    store.get(a)
    clock.t = 100  # b idle 100 s, a 50 s
    assert store.get(a) and b not in store


def test_the_store_bounds_the_bytes_held_but_keeps_the_newest(tmp_path):
    store = Store(tmp_path, max_bytes=100)
    store.put("a", Item(40))
    store.put("b", Item(40))
    store.put("c", Item(40))
    assert "a" not in store and {"b", "c"} <= set(store._items) and store.nbytes == 80
    store.put("huge", Item(500))
    assert list(store._items) == ["huge"]


def test_many_visitors_leave_no_more_than_the_limit_in_memory_and_on_disk(model_dir, tmp_path):
    face = save_png(sample_face()[0], tmp_path / "face.png")
    h = web_handlers(model_dir, tmp_path / "open", max_count=4)
    tokens = [h.open(str(face), False, 0, str(model_dir))[0] for _ in range(12)]
    assert all(tokens) and len(h.store) == 4
    assert sorted(p.name for p in (tmp_path / "open").iterdir()) == sorted(tokens[-4:])
    status = h.edit(tokens[0], str(model_dir), "raw", *[0.0] * 40)[1]
    assert "no longer open on the server" in status and "upload it again" in status


def test_an_open_picture_counts_its_arrays(model_dir, tmp_path):
    from intergan.app import session

    editor = session.load_editor(str(model_dir))
    big = save_png(np.full((300, 400, 3), 90, np.uint8), tmp_path / "big.png")
    opened = session.open_photo(editor, big, align=False)
    assert opened.nbytes == 2 * 300 * 400 * 3
    opened.last = session.edit_opened(editor, opened, {})
    assert opened.nbytes == 3 * 300 * 400 * 3


def offered(model_dir, tmp_path):
    from intergan.app.catalog import Catalog
    from intergan.app.handlers import Handlers

    catalog = Catalog.build([str(model_dir)], imports=False)
    return Handlers(catalog, Store(tmp_path / "open")), catalog


def test_the_page_loads_only_the_models_the_server_offers(model_dir, tmp_path):
    h, catalog = offered(model_dir, tmp_path)
    assert catalog.names == ["tiny"]
    assert h.load_model("tiny", None)[0] == "tiny"
    other = export_tiny(tmp_path / "other")  # a real model, but not offered
    existing = h.load_model(str(other), None)[5]
    missing = h.load_model(str(tmp_path / "gone"), None)[5]
    assert "not offered" in existing and "choose one of: tiny" in existing
    # the answer for a folder that exists is the one for a path that does not
    assert existing.replace("other", "X") == missing.replace("gone", "X")
    assert str(model_dir) not in existing


def test_a_listed_model_that_fails_to_load_is_named_without_its_path(model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    h, catalog = offered(broken, tmp_path)
    (broken / "generator.safetensors").write_text("not weights")
    from intergan.app import session

    session.load_editor.cache_clear()
    status = h.load_model("broken", None)[5]
    assert "could not be loaded" in status and str(tmp_path) not in status


def test_the_menu_holds_the_models_named_the_models_dir_and_the_imports(
    model_dir, tmp_path, monkeypatch
):
    from intergan.app.catalog import Catalog

    monkeypatch.setenv("INTERGAN_HOME", str(tmp_path / "home"))
    export_tiny(tmp_path / "home" / "models" / "imported")
    export_tiny(tmp_path / "shelf" / "a")
    export_tiny(tmp_path / "shelf" / "b")
    (tmp_path / "shelf" / "notes").mkdir()  # not a model: not listed
    run = tmp_path / "runs" / "celeba" / "export"
    shutil.copytree(model_dir, run)
    menu = Catalog.build([str(model_dir), str(run)], [str(tmp_path / "shelf")])
    assert menu.names == ["tiny", "celeba/export", "a", "b", "imported"]
    assert Catalog.build([str(model_dir)], imports=False).names == ["tiny"]
    with pytest.raises(UserError, match="does not exist"):
        Catalog.build([str(tmp_path / "nope")])
    with pytest.raises(UserError, match="--models-dir"):
        Catalog.build([str(model_dir)], [str(tmp_path / "nope")])


def test_the_server_flags_take_repeated_models_and_refuse_bad_numbers(capsys):
    import argparse

    from intergan.app.web_args import WebOptions, add_arguments

    p = argparse.ArgumentParser()
    p.add_argument("--model", action="append")
    add_arguments(p)
    args = p.parse_args(["--model", "a", "--model", "b", "--session-idle", "5"])
    opts = WebOptions.from_args(args, "synthfaces-64")
    assert opts.models == ["a", "b"] and opts.session_idle_s == 300 and opts.imports
    assert WebOptions.from_args(p.parse_args([]), "synthfaces-64").models == ["synthfaces-64"]
    for bad in (["--port", "70000"], ["--max-sessions", "0"], ["--session-memory", "nan"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_deletes_the_visitors_photos_like_ctrl_c(model_dir, tmp_path):
    import httpx

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "INTERGAN_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "intergan.app.web", "--model", str(model_dir),
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                photo = save_png(sample_face()[0], tmp_path / "visitor.png")
                with open(photo, "rb") as f:
                    r = httpx.post(f"http://127.0.0.1:{port}/gradio_api/upload",
                                   files={"files": f}, timeout=10)  # fmt: skip
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.5)
        (uploaded,) = r.json()
        assert Path(uploaded).is_file() and Path(uploaded).is_relative_to(tmp)
        assert Path(uploaded).is_relative_to(next(tmp.glob("intergan-web-*")))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    # the scratch folder, the upload with it: gone
    assert not list(tmp.glob("intergan-web-*")) and not Path(uploaded).exists()
