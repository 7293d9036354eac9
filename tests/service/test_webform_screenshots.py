"""Nothing of the reporter's machine in a screenshot (issue 18 §5), over HTTP against
`casebook serve`: a display's ICC profile, Apple's iDOT, private chunks, a JPEG's comment after
its scan and a phone's trailer after EOI, WebP's EXIF and XMP, a GIF's comment: none of it is
anywhere in the archive or the spool afterwards, and the committee gets the pictures."""

from __future__ import annotations

import base64
import email
import io
import re
from email import policy

import pytest
from PIL import Image

from tests.service.test_webform import Site
from tests.support import screenshots
from tests.support.screenshots import bomb
from tests.support.waiting import wait_until


@pytest.fixture
def site(tmp_path, relay):
    s = Site(tmp_path, relay, max_attachments=4, max_attachment_size=4096)
    s.start()
    yield s
    s.service.stop()


def hidden_forms(canary: bytes) -> list[bytes]:
    """The canary as bytes, and as the middle of its base64 at each alignment (MIME parts)."""
    forms = [canary]
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + canary)
        forms.append(encoded[4:-4])
    return forms


def upload(kind: str) -> tuple[tuple[str, str, bytes], list[bytes]]:
    data, canaries = screenshots.ALL[kind]()
    return ("screenshots", f"shot.{kind}", data), canaries


def test_no_metadata_of_any_screenshot_reaches_the_archive_or_the_spool(site):
    uploads = [upload(kind) for kind in ("png", "jpeg", "webp", "gif")]
    status, html = site.report(files=tuple(file for file, _ in uploads))
    assert status == 200, html
    wait_until(site.cases, "the case")
    with site.db() as db:
        stored = db.execute("SELECT content_type, data FROM attachments ORDER BY id").fetchall()
        raws = [bytes(raw) for (raw,) in db.execute("SELECT raw FROM messages")]
    parts = [bytes(data) for _, data in stored]
    for raw in raws:  # the archived message's own parts, decoded
        message = email.message_from_bytes(raw, policy=policy.default)
        parts += [p.get_content() for p in message.iter_attachments()]
    site.service.stop()
    files = [p.read_bytes() for p in site.tmp.rglob("*") if p.is_file()]
    files += [re.sub(rb"\r?\n", b"", data) for data in files]  # base64 across line ends
    for _, canaries in uploads:
        for canary in canaries:
            assert all(canary not in part for part in parts), canary
            for form in hidden_forms(canary):
                assert all(form not in data for data in files), canary
    assert [kind for kind, _ in stored] == ["image/png", "image/jpeg", "image/png", "image/png"]
    # The pictures themselves arrive: the same size, the lossless ones pixel for pixel.
    for ((_, _, original), _), data in zip(uploads, parts[:4], strict=True):
        with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(data)) as after:
            assert after.size == before.size
            if after.format == "PNG":
                assert after.convert("RGBA").tobytes() == before.convert("RGBA").tobytes()


def test_an_image_that_does_not_decode_or_is_a_bomb_is_refused_with_the_form_kept(site):
    for data in (screenshots.macos_png()[0][:100], bomb(8_000)):
        status, html = site.report(
            account="He sent me this at the meetup.",
            files=(("screenshots", "a.png", data),),
        )
        assert status == 400
        assert "must be PNG, JPEG, GIF or WebP images that open" in html
        assert "25 million pixels" in html
        assert "He sent me this at the meetup." in html  # what they wrote is still there
    site.nothing_stored_before()
