"""Screenshots drawn again from their pixels: nothing of the reporter's machine is kept.

A screenshot carries more than its picture: a PNG's ICC profile names the display ("DELL
U2719D", "Color LCD"), Apple writes an `iDOT` chunk, tools add text and private chunks, a
phone's JPEG has EXIF (the place, the phone, the second), comments anywhere and a trailer
after its end, WebP has EXIF and XMP, GIF comment extensions. Rather than know every place a
format hides something, the form decodes each image with Pillow and encodes its pixels into a
new file that holds nothing else: PNG stays PNG, JPEG stays JPEG (quality 95, no chroma
subsampling, turned upright by its EXIF orientation first), GIF and WebP become PNG (lossless;
an animation stays one, as APNG).

Refused (`UnreadableImage`): what Pillow cannot decode as PNG, JPEG, GIF or WebP, a file cut
short, and an image of more than `max_pixels` pixels in all its frames together. The size is
read from the header before any pixel is unpacked, so a decompression bomb is refused before it
costs memory; Pillow's own bomb warning and error are refusals too.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence

# The formats Pillow may read (`Image.open(formats=…)`: no other decoder is tried); phones'
# multi-picture JPEGs open as MPO and keep their first picture, the photo itself.
READ = ("PNG", "JPEG", "GIF", "WEBP")
PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "RGB", "RGBA"})
JPEG_MODES = frozenset({"L", "RGB", "CMYK"})
JPEG_QUALITY = 95


class UnreadableImage(ValueError):
    """Not an image the form takes: refused, never stored as it came."""


@dataclass(frozen=True)
class Screenshot:
    data: bytes
    content_type: str
    extension: str


def redraw(data: bytes, max_pixels: int) -> Screenshot:
    """The image in `data` encoded again from its pixels alone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=READ) as image:
                if image.format in ("JPEG", "MPO"):
                    return _jpeg(_upright(image, max_pixels))
                return _png(_frames(image, max_pixels), image.info.get("loop", 0))
    except UnreadableImage:
        raise
    except Exception as exc:  # a decoder of anyone's bytes may fail in any way: all refuse
        raise UnreadableImage(f"not an image the form takes ({type(exc).__name__})") from exc


def _check_pixels(width: int, height: int, frames: int, max_pixels: int) -> None:
    if width * height * frames > max_pixels:
        raise UnreadableImage(f"more than {max_pixels} pixels")


def _upright(image: Image.Image, max_pixels: int) -> Image.Image:
    """The first picture, turned as its EXIF orientation says, in a mode JPEG writes."""
    _check_pixels(*image.size, 1, max_pixels)  # read from the header: nothing decoded yet
    upright = ImageOps.exif_transpose(image)
    mode = upright.mode if upright.mode in JPEG_MODES else "RGB"
    return _fresh(upright, mode)


def _frames(image: Image.Image, max_pixels: int) -> list[tuple[Image.Image, int]]:
    """Every frame as a fresh image, with how long it shows (ms); checked before each load."""
    frames = []
    for number, frame in enumerate(ImageSequence.Iterator(image), 1):
        _check_pixels(*image.size, number, max_pixels)
        if frame.mode in PNG_MODES:
            mode = frame.mode
        else:
            mode = "RGBA" if frame.has_transparency_data else "RGB"
        frames.append((_fresh(frame, mode), int(frame.info.get("duration", 0))))
    return frames


def _fresh(image: Image.Image, mode: str) -> Image.Image:
    """A new image made of `image`'s pixels only: no info, no EXIF, no profile to carry."""
    plain = image.convert(mode) if image.mode != mode else image
    fresh = Image.new(mode, plain.size)
    fresh.paste(plain)
    return fresh


def _jpeg(image: Image.Image) -> Screenshot:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return Screenshot(out.getvalue(), "image/jpeg", "jpg")


def _png(frames: list[tuple[Image.Image, int]], loop: int) -> Screenshot:
    out = io.BytesIO()
    first, *rest = [frame for frame, _ in frames]
    if rest:
        durations = [duration for _, duration in frames]
        first.save(out, "PNG", save_all=True, append_images=rest, duration=durations, loop=loop)
    else:
        first.save(out, "PNG")
    return Screenshot(out.getvalue(), "image/png", "png")
