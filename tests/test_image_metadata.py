"""Screenshots lose what the reporter's device wrote into them, and nothing of the picture."""

from __future__ import annotations

import struct

import pytest

from tests.test_webform import PNG, png
from webform.message import screenshot
from webform.metadata import UnreadableImage, strip_metadata


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


JFIF = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
EXIF = segment(0xE1, b"Exif\x00\x00MM\x00*GPS 52.52N 13.40E iPhone 15 Pro")
XMP = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:creator>Rita</x:creator>")
COMMENT = segment(0xFE, b"taken by rita@example.net")
QUANT = segment(0xDB, b"\x00" + bytes(range(64)))
SCAN = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34\xff\x00\x56" + b"\xff\xd9"


def jpeg(*segments: bytes) -> bytes:
    return b"\xff\xd8" + b"".join(segments) + SCAN


def test_a_photos_exif_xmp_and_comment_go_and_the_image_stays():
    tagged = jpeg(JFIF, EXIF, XMP, COMMENT, QUANT)
    clean = strip_metadata(tagged, "image/jpeg")
    assert clean == jpeg(JFIF, QUANT)
    for secret in (b"GPS", b"iPhone", b"Rita", b"rita@"):
        assert secret not in clean


def test_a_pngs_text_time_and_exif_chunks_go():
    tagged = png((b"tEXt", b"Author\x00Rita"), (b"iTXt", b"Software\x00\x00\x00\x00\x00Shot"),
                 (b"eXIf", b"MM\x00*GPS"), (b"tIME", b"\x07\xea\x03\x01\x15\x03\x11"))  # fmt: skip
    assert strip_metadata(tagged, "image/png") == PNG


def test_a_clean_image_is_kept_byte_for_byte():
    assert strip_metadata(PNG, "image/png") == PNG
    assert strip_metadata(jpeg(JFIF, QUANT), "image/jpeg") == jpeg(JFIF, QUANT)


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"\xff\xd8" + EXIF[:6], "image/jpeg"),  # a segment cut short
        (b"\xff\xd8\x00\x00", "image/jpeg"),  # not a segment at all
        (PNG[:20], "image/png"),  # a chunk cut short
    ],
)
def test_an_image_that_cannot_be_walked_is_refused_not_kept_as_it_is(data, kind):
    with pytest.raises(UnreadableImage):
        strip_metadata(data, kind)
    assert screenshot(data) is None
