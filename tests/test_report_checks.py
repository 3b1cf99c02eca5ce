"""Checks shared by the report and demo tests: image files, pdflatex, headless chromium.

The external tools (pdflatex from Debian's texlive packages, Debian's chromium) skip locally when absent and fail in
CI (``CI`` set), where .ci/run installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]


def need_tool(name: str, candidates: tuple[str, ...]) -> str:
    """The path of the first found tool; skip locally, fail in CI, when none is installed."""
    for c in candidates:
        path = shutil.which(c)
        if path:
            return path
    msg = f"{name} not installed ({' or '.join(candidates)})"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def check_image(path: Path) -> None:
    """Assert ``path`` is a valid, non-empty image of its kind (PNG decoded, PDF/SVG headers and structure)."""
    data = path.read_bytes()
    assert len(data) > 1000, path
    if path.suffix == ".png":
        from PIL import Image

        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as im:
            im.load()
            assert im.width > 200 and im.height > 150
    elif path.suffix == ".pdf":
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
    elif path.suffix == ".svg":
        import xml.etree.ElementTree as ET

        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert len(list(root.iter())) > 20
    else:
        raise AssertionError(f"unexpected figure file {path}")


def compile_latex(tex: Path) -> Path:
    """Run pdflatex on ``tex`` in its folder; assert it succeeds and returns the PDF."""
    pdflatex = need_tool("pdflatex", ("pdflatex",))
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tex.parent,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    pdf = tex.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    return pdf


def screenshot(html: Path, out_png: Path, profile: Path, size: str = "1200,2400") -> str:
    """Render ``html`` in headless chromium into ``out_png``; returns chromium's stderr log."""
    chromium = need_tool("chromium", ("chromium", "chromium-browser"))
    proc = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
                           f"--screenshot={out_png}", html.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out_png.is_file()
    return proc.stderr


def console_messages(log: str) -> list[str]:
    """Console lines of a chromium log (``:CONSOLE`` entries: page errors, CSP violations, console calls)."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def pixel_std(png: Path) -> float:
    """Standard deviation of the grey levels of a screenshot (about 0 for a blank page)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        return float(np.asarray(im.convert("L"), dtype=float).std())


def count_colour_pixels(png: Path) -> int:
    """Pixels with clearly saturated colour: the figures' bars and markers (the page itself is grey on white)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        a = np.asarray(im.convert("RGB"), dtype=int)
    return int(((a.max(axis=2) - a.min(axis=2)) > 80).sum())


def scroll_width(html: Path, work: Path, width: int = 1280) -> int:
    """The page's ``document.documentElement.scrollWidth`` at a ``width``-pixel window in headless chromium: a copy
    of the page (its CSP, which forbids scripts, taken out) with a script that writes the width into the DOM."""
    import re

    chromium = need_tool("chromium", ("chromium", "chromium-browser"))
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html.read_text(encoding="utf-8"))
    probe = ("<script>window.addEventListener('load', () => document.body.setAttribute('data-scroll-width', "
             "String(document.documentElement.scrollWidth)));</script>")
    copy = work / "measure.html"
    copy.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    proc = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}",
                           f"--window-size={width},2000", "--virtual-time-budget=3000", "--dump-dom",
                           copy.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r'data-scroll-width="(\d+)"', proc.stdout)
    assert m, proc.stdout[-2000:]
    return int(m.group(1))
