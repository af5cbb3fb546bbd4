"""A self-contained HTML report: one ``report.html`` next to its PNGs.

No scripts, no web fonts, no external URLs: the page opens from disk on a machine
with no network. Images are referenced by relative path and shown upscaled with
nearest-neighbour sampling so 64 px faces stay crisp.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from intergan.files import atomic_write, guard

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 24px auto; max-width: 1400px; padding: 0 16px; color: #1f2328; }
h1 { font-size: 1.6em; margin-bottom: 4px; } h2 { margin-top: 32px; }
p.meta { color: #59636e; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 2px 4px; text-align: center; font-size: 0.8em; }
table.grid th { font-weight: 600; vertical-align: bottom; max-width: 80px; }
.scroll { overflow-x: auto; }
details { margin: 12px 0; } summary { font-weight: 600; font-size: 1.1em; cursor: pointer; }
table.metrics td, table.metrics th { border-bottom: 1px solid #d1d9e0; }
table.metrics td:first-child, table.metrics th:first-child { text-align: left; }
th.rowhead { text-align: right; color: #59636e; font-weight: normal; white-space: nowrap; }
img.px { image-rendering: pixelated; display: block; margin: auto; }
td.caption { color: #59636e; font-size: 0.75em; }
.note { color: #59636e; font-size: 0.9em; max-width: 900px; }
"""


@dataclass
class Cell:
    """One image in a grid: a PNG path relative to the report, and a caption."""

    src: str
    caption: str = ""


def save_png(image: np.ndarray, path: Path) -> None:
    """Write an (H, W, 3) uint8 array as PNG, creating parent folders."""
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: Image.fromarray(np.ascontiguousarray(image)).save(f, "PNG"))


def image_grid(
    rows: Sequence[tuple[str, Sequence[Cell | None]]],
    columns: Sequence[str],
    display_px: int = 96,
) -> str:
    """An HTML table of images: ``rows`` is [(row label, cells)], ``None`` = empty."""
    out = ["<div class='scroll'><table class='grid'><tr><th></th>"]
    out += [f"<th>{html.escape(c)}</th>" for c in columns]
    out.append("</tr>")
    for label, cells in rows:
        out.append(f"<tr><th class='rowhead'>{html.escape(label)}</th>")
        for cell in cells:
            if cell is None:
                out.append("<td></td>")
                continue
            cap = f"<div class='caption'>{html.escape(cell.caption)}</div>" if cell.caption else ""
            out.append(
                f"<td><img class='px' src='{html.escape(cell.src)}' width='{display_px}' "
                f"height='{display_px}' alt='{html.escape(label)}'>{cap}</td>"
            )
        out.append("</tr>")
    out.append("</table></div>")
    return "".join(out)


def metrics_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table of numbers: floats shown with two decimals, ``None`` as a dash."""

    def fmt(v: object) -> str:
        if v is None:
            return "&ndash;"
        if isinstance(v, float):
            return f"{v:.2f}" if abs(v) >= 1 or v == 0 else f"{v:.3f}"
        return html.escape(str(v))

    out = ["<table class='metrics'><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in header]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def write_html(path: Path, title: str, body: str) -> Path:
    """Write a complete HTML page with the report's inline style sheet."""
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, page)
