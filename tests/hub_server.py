"""A local stand-in for the Hugging Face Hub on 127.0.0.1: the four requests that
``huggingface_hub.snapshot_download`` makes (repository info at a revision, the file
tree at a commit, then ``HEAD`` and ``GET`` of each file), served from local folders.
Point the client at it with ``HF_ENDPOINT=http://127.0.0.1:PORT``."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse


def serve(repos: dict[str, tuple[Path, str]]) -> tuple[ThreadingHTTPServer, list[str]]:
    """Serve ``{"org/name": (folder, commit)}`` (every revision is that commit); returns
    the running server and the list the paths of its requests are appended to."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, code: int, body: bytes = b"", headers=None, head=False) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _route(self, head: bool) -> None:
            path = urlparse(self.path).path
            requests.append(path)
            parts = path.strip("/").split("/")
            api = parts[:2] == ["api", "models"]
            repo = "/".join(parts[2:4] if api else parts[:2])
            if repo not in repos:  # as the Hub answers: the client reads X-Error-Code
                body = b'{"error": "Repository not found"}'
                return self._send(404, body, {"X-Error-Code": "RepoNotFound"}, head)
            folder, commit = repos[repo]
            files = sorted(f for f in folder.iterdir() if f.is_file())
            if api and parts[4] == "revision":
                info = {
                    "id": repo,
                    "sha": commit,
                    "siblings": [{"rfilename": f.name} for f in files],
                }
                return self._send(200, json.dumps(info).encode())
            if api and parts[4] == "tree":
                tree = [
                    {"type": "file", "path": f.name, "size": f.stat().st_size,
                     "oid": hashlib.sha1(f.read_bytes()).hexdigest()}
                    for f in files
                ]  # fmt: skip
                return self._send(200, json.dumps(tree).encode())
            if len(parts) >= 5 and parts[2] == "resolve":
                data = (folder / "/".join(parts[4:])).read_bytes()
                etag = f'"{hashlib.sha1(data).hexdigest()}"'
                return self._send(200, data, {"X-Repo-Commit": commit, "ETag": etag}, head)
            return self._send(404, head=head)

        def do_GET(self) -> None:
            self._route(False)

        def do_HEAD(self) -> None:
            self._route(True)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests
