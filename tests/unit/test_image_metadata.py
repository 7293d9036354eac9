"""Screenshots lose everything the reporter's device wrote into them, and nothing of the picture
(issue 18 §5): each is decoded and encoded again from its pixels (`webform/images.py`)."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from tests.support import screenshots
from tests.support.screenshots import bomb, pattern
from webform.images import UnreadableImage, redraw

CAP = 1_000_000


def pixels(data: bytes) -> list:
    with Image.open(io.BytesIO(data)) as image:
        flat = image.convert("RGBA").tobytes()
    return [tuple(flat[at : at + 4]) for at in range(0, len(flat), 4)]


@pytest.mark.parametrize("kind", sorted(screenshots.ALL))
def test_every_kind_of_metadata_goes(kind):
    data, canaries = screenshots.ALL[kind]()
    assert all(canary in data for canary in canaries)  # the canaries were there to find
    shot = redraw(data, CAP)
    for canary in canaries:
        assert canary not in shot.data, canary
    with Image.open(io.BytesIO(shot.data)) as image:
        image.load()
        assert not {"icc_profile", "exif", "xmp", "comment", "Author"} & set(image.info)
        assert image.getexif() == {}


@pytest.mark.parametrize("kind", ["png", "webp", "gif"])
def test_the_pixels_are_kept_exactly_in_lossless_formats(kind):
    data, _ = screenshots.ALL[kind]()
    shot = redraw(data, CAP)
    assert shot.content_type == "image/png" and shot.extension == "png"
    assert pixels(shot.data) == pixels(data)


def test_a_png_keeps_its_only_chunks_for_pixels():
    data, _ = screenshots.macos_png()
    shot = redraw(data, CAP)
    chunks, at = [], 8
    while at < len(shot.data):
        length, kind = struct.unpack(">I4s", shot.data[at : at + 8])
        chunks.append(kind)
        at += 12 + length
    assert set(chunks) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}, chunks
    assert shot.data.endswith(b"IEND\xaeB`\x82")  # nothing after the end


def test_a_jpeg_stays_a_jpeg_close_to_its_pixels_and_turned_upright():
    upright, _ = screenshots.phone_jpeg(orientation=1)
    shot = redraw(upright, CAP)
    assert shot.content_type == "image/jpeg" and shot.data.startswith(b"\xff\xd8")
    assert shot.data.endswith(b"\xff\xd9") and b"\xff\xfe" not in shot.data  # no comment
    assert _close(pixels(shot.data), pixels(upright))
    # A phone held sideways stores the picture turned and says so in EXIF (orientation 6):
    # the form turns it before dropping EXIF, so the committee sees it as the reporter did.
    sideways = pattern().transpose(Image.Transpose.ROTATE_90)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(out, "JPEG", quality=100, subsampling=0, exif=exif.tobytes())
    shot = redraw(out.getvalue(), CAP)
    with Image.open(io.BytesIO(shot.data)) as image:
        assert image.size == pattern().size
        assert image.getexif() == {}
    assert _close(pixels(shot.data), pixels(_saved(pattern())))


def _saved(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _close(a: list, b: list, tolerance: int = 12) -> bool:
    return len(a) == len(b) and all(
        abs(x - y) <= tolerance
        for p, q in zip(a, b, strict=True)
        for x, y in zip(p[:3], q[:3], strict=True)
    )


def test_an_animation_stays_one():
    frames = [pattern().quantize(colors=16), pattern().rotate(180).quantize(colors=16)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0,
                   comment=b"anim-canary")  # fmt: skip
    shot = redraw(out.getvalue(), CAP)
    assert b"anim-canary" not in shot.data
    with Image.open(io.BytesIO(shot.data)) as image:
        assert image.n_frames == 2


def test_an_image_over_the_pixel_cap_is_refused_before_it_is_decoded():
    with pytest.raises(UnreadableImage, match="more than 1000000 pixels"):
        redraw(bomb(8_000), CAP)  # 64 million pixels


@pytest.mark.parametrize("side", [10_000, 20_000])  # past Pillow's warning, past its error
def test_pillows_own_bomb_warning_and_error_are_refusals(side):
    with pytest.raises(UnreadableImage, match="DecompressionBomb"):
        redraw(bomb(side), 10**12)


@pytest.mark.parametrize(
    "data",
    [
        b"not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,  # a PNG signature and nothing readable
        screenshots.macos_png()[0][:60],  # cut short
        screenshots.phone_jpeg()[0][:200],  # cut short
        b"BM" + b"\x00" * 100,  # a BMP: not a format the form takes
        b"%PDF-1.7\n",
    ],
)
def test_what_pillow_cannot_decode_is_refused(data):
    with pytest.raises(UnreadableImage):
        redraw(data, CAP)


def test_a_phones_multi_picture_jpeg_keeps_its_photo_and_an_animated_webp_its_frames():
    out = io.BytesIO()
    pattern().save(out, "MPO", save_all=True, append_images=[pattern().rotate(180)])
    shot = redraw(out.getvalue(), CAP)
    with Image.open(io.BytesIO(shot.data)) as image:
        assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1
    out = io.BytesIO()
    pattern().save(out, "WEBP", save_all=True, append_images=[pattern().rotate(180)],
                   duration=100, lossless=True, exif=b"Exif\x00\x00webp-anim-canary")  # fmt: skip
    shot = redraw(out.getvalue(), CAP)
    assert b"webp-anim-canary" not in shot.data
    with Image.open(io.BytesIO(shot.data)) as image:
        assert image.format == "PNG" and image.n_frames == 2
