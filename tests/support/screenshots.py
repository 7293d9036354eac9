"""Real-shaped screenshots carrying a canary in each kind of metadata a device writes.

Each builder returns (bytes, canaries): the image as a phone, a desktop screenshot tool or an
editor would save it, and the strings that must not survive the web form. The pixels are a
small pattern (`PATTERN`) so that a test can hold the form to keeping them.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

SIZE = (6, 4)


def pattern(mode: str = "RGB") -> Image.Image:
    """A 6×4 picture with a different colour in each pixel (so a turn or a flip shows)."""
    image = Image.new("RGBA", SIZE)
    for x in range(SIZE[0]):
        for y in range(SIZE[1]):
            image.putpixel((x, y), (40 * x, 60 * y, 200 - 30 * x, 255 if x else 128))
    return image.convert(mode)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def _insert_png_chunks(png: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """`png` with `chunks` right after IHDR (where iCCP, iDOT and the rest go)."""
    ihdr_end = 8 + 8 + 13 + 4
    extra = b"".join(_chunk(kind, data) for kind, data in chunks)
    return png[:ihdr_end] + extra + png[ihdr_end:]


def _save(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def macos_png() -> tuple[bytes, list[bytes]]:
    """A macOS screenshot: the display's ICC profile, Apple's iDOT, a tool's private chunk and
    text, and bytes after IEND."""
    profile = b"\x00" * 36 + b"acsp" + b"\x00" * 88 + b"desc Color LCD profile"
    png = _insert_png_chunks(
        _save(pattern("RGBA"), "PNG"),
        (b"iCCP", b"DELL U2719D\x00\x00" + zlib.compress(profile)),
        (b"iDOT", b"\x00\x00\x00\x02iDOT-CANARY"),
        (b"prVt", b"private-chunk-canary rita@example.net"),
        (b"tEXt", b"Author\x00Rita Screenshotname"),
    )
    return png + b"after-iend-canary", [b"DELL U2719D", b"iDOT-CANARY", b"private-chunk-canary",
                                        b"Screenshotname", b"after-iend-canary"]  # fmt: skip


def phone_jpeg(orientation: int = 1) -> tuple[bytes, list[bytes]]:
    """A phone's JPEG: EXIF naming the phone (and its orientation), a comment after the scan,
    and a trailer after EOI (the motion photo a phone appends)."""
    exif = Image.Exif()
    exif[0x010F] = "exif-make-canary"  # Make
    exif[0x0110] = "Pixel 9 Pro canary-model"  # Model
    exif[0x0112] = orientation
    data = _save(pattern(), "JPEG", quality=100, subsampling=0, exif=exif.tobytes())
    assert data.endswith(b"\xff\xd9")
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 18) + b"jpeg-com-canary-xx"
    data = data[:-2] + comment + b"\xff\xd9" + b"MotionPhoto_Data trailer-canary"
    return data, [b"exif-make-canary", b"canary-model", b"jpeg-com-canary", b"trailer-canary"]


def webp_with_metadata() -> tuple[bytes, list[bytes]]:
    """A WebP with an EXIF and an XMP chunk, as an editor exports it."""
    exif = Image.Exif()
    exif[0x010F] = "webp-exif-canary"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><creator>webp-xmp-canary</creator></x:xmpmeta>'
    data = _save(pattern("RGBA"), "WEBP", lossless=True, exif=exif.tobytes(), xmp=xmp)
    return data, [b"webp-exif-canary", b"webp-xmp-canary"]


def gif_with_comment() -> tuple[bytes, list[bytes]]:
    """A GIF with a comment extension (a tool's name, a user's)."""
    data = _save(pattern().quantize(colors=32), "GIF", comment=b"gif-comment-canary")
    return data, [b"gif-comment-canary"]


def bomb(side: int) -> bytes:
    """A PNG of side × side pixels in a few hundred bytes: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * (side + 1) * 4)  # four rows: the cap refuses before them
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


ALL = {
    "png": macos_png,
    "jpeg": phone_jpeg,
    "webp": webp_with_metadata,
    "gif": gif_with_comment,
}
