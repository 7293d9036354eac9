"""The digest's HTML part as a browser draws it: headless Chromium, a screenshot, the layout.

Mail clients strip SVG and scripts, so the chart is table cells; this checks they are drawn.
Chromium is Debian's `chromium` package (`make test-deps` installs it when run as root).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from archive.summaries.digest import digest_data
from tests.pipeline.test_digest import NOW, rendered_digest, week_of_cases

WIDTH, HEIGHT = 800, 1400
BAR_BLUE = (0x4A, 0x7A, 0xB5)
ATTENTION_RED = (0xB0, 0x00, 0x00)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no chromium: `make test-deps` installs Debian's chromium when run as root")
    return found


def run_chromium(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
               f"--window-size={WIDTH},{HEIGHT}", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, timeout=120, check=False)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit truecolour PNG, as Chromium writes it."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    step = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * step, [], bytes(width * step)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        rows.append(previous := unfilter(line[0], bytearray(line[1:]), previous, step))
    return width, height, [bytes(r) for r in rows] if step == 3 else [strip_alpha(r) for r in rows]


def unfilter(kind: int, line: bytearray, up: bytes, step: int) -> bytes:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        above, corner = up[i], up[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + above) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + above) // 2) & 0xFF
        elif kind == 4:
            p = left + above - corner
            pa, pb, pc = abs(p - left), abs(p - above), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else above if pb <= pc else corner
            line[i] = (line[i] + pred) & 0xFF
    return bytes(line)


def strip_alpha(row: bytes) -> bytes:
    return bytes(b for i, b in enumerate(row) if i % 4 != 3)


def pixels(rows: list[bytes]):
    for row in rows:
        for x in range(0, len(row), 3):
            yield row[x], row[x + 1], row[x + 2]


def near(pixel, colour, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


LAYOUT_PROBE = """<script>(function () {
var topOf = function (id) { return document.getElementById(id).getBoundingClientRect().top; };
var bars = Array.prototype.map.call(document.querySelectorAll('td[bgcolor]'),
  function (td) { var r = td.getBoundingClientRect(); return [r.width, r.height]; });
var out = document.createElement('pre'); out.id = 'layout';
out.textContent = JSON.stringify({tops: ['attention', 'promises', 'open', 'week', 'bans',
  'chart'].map(topOf), bars: bars, width: document.documentElement.scrollWidth});
document.body.appendChild(out);
})();</script></body>"""


def test_the_html_digest_renders_in_chromium(tmp_path):
    browser = chromium()
    db, settings, refs = week_of_cases(tmp_path, old_cases=1)
    html = rendered_digest(db, settings).html
    assert "<script" not in html and "<svg" not in html
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "digest.png"
    done = run_chromium(browser, tmp_path, f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    colours = list(pixels(rows))
    inked = sum(1 for p in colours if p != (255, 255, 255))
    assert 0.02 < inked / len(colours) < 0.6, f"{inked} of {len(colours)} pixels drawn"
    # The chart's bars are table cells: the tallest week is 200 px by 14 px of bar blue.
    assert sum(1 for p in colours if near(p, BAR_BLUE)) >= 200 * 14
    assert sum(1 for p in colours if near(p, ATTENTION_RED, 40)) > 100  # the attention heading

    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", LAYOUT_PROBE), encoding="utf-8")
    dom = run_chromium(browser, tmp_path, "--dump-dom", probe.as_uri()).stdout.decode()
    layout = json.loads(unescape_pre(dom))
    assert layout["tops"] == sorted(layout["tops"]), "sections out of order"
    # Each bar is drawn as wide as the chart says (the tallest week 200 px), none collapsed.
    widths = [week["width"] for week in digest_data(db, settings, NOW)["chart"] if week["width"]]
    assert [round(w) for w, _ in layout["bars"]] == widths and max(widths) == 200
    assert all(14 <= h <= 24 for _, h in layout["bars"])
    assert layout["width"] <= WIDTH, "the digest is wider than the window"


def unescape_pre(dom: str) -> str:
    match = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    return match.group(1).replace("&quot;", '"').replace("&amp;", "&")
