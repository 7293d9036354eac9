"""Screenshots without what the reporter's device wrote into them.

A photo's EXIF block can hold the place it was taken, the camera or phone and the time to the
second; a PNG's text chunks the program and the user name that made it. An anonymous report
keeps none of it: JPEG's APP1–APP13 and APP15 segments and comments go, and PNG's text, time
and EXIF chunks, before the image is spooled. The pixels are not touched (no re-encoding).
A file whose structure cannot be walked is refused rather than stored with whatever it holds.
"""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary PNG chunks that describe the file's maker, not its pixels.
PNG_DROPPED = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})
# JPEG markers with no length: the start of image, restart markers and TEM.
_STANDALONE = frozenset({0xD8, 0x01, *range(0xD0, 0xD8)})
_APP0, _APP14, _COM, _SOS = 0xE0, 0xEE, 0xFE, 0xDA


class UnreadableImage(ValueError):
    """The image's structure could not be walked: it is refused, not stored as it is."""


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """`data` without metadata, for image/jpeg and image/png; other types as they are."""
    if content_type == "image/jpeg":
        return _strip_jpeg(data)
    if content_type == "image/png":
        return _strip_png(data)
    return data


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])  # SOI
    at = 2
    while at < len(data):
        if data[at] != 0xFF or at + 1 >= len(data):
            raise UnreadableImage("not a JPEG segment")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            out += data[at : at + 2]
            at += 2
            continue
        if at + 4 > len(data):
            raise UnreadableImage("a JPEG segment is cut short")
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        end = at + 2 + length
        if length < 2 or end > len(data):
            raise UnreadableImage("a JPEG segment is cut short")
        if marker == _SOS:  # the entropy-coded image follows: kept to the end of the file
            out += data[at:]
            return bytes(out)
        dropped = marker == _COM or (0xE1 <= marker <= 0xEF and marker != _APP14)
        if not dropped:
            out += data[at:end]
        at = end
    return bytes(out)


def _strip_png(data: bytes) -> bytes:
    out = bytearray(PNG_SIGNATURE)
    at = len(PNG_SIGNATURE)
    while at < len(data):
        if at + 8 > len(data):
            raise UnreadableImage("a PNG chunk is cut short")
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        end = at + 12 + length  # length, type, data, CRC
        if end > len(data):
            raise UnreadableImage("a PNG chunk is cut short")
        if kind not in PNG_DROPPED:
            out += data[at:end]
        at = end
        if kind == b"IEND":
            break
    return bytes(out)
