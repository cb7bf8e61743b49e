"""Decoding images that come from outside (a photo uploaded to enrol a face).

A small file can announce a huge picture: a 720 KB deflate TIFF of 16000x16000 px, a PNG of
zeros, a JPEG whose header says 20000x15000. Decoded, each takes gigabytes. So the size is read
from the header first — by Pillow, which knows every format it opens and reads only the
header until asked for the pixels (fill bytes, progressive JPEGs and TIFF directories
included) — and checked before OpenCV decodes anything:

* a baseline JPEG is decoded already shrunk (libjpeg scales while decoding: a 50-megapixel
  phone photo never sits in memory at full size), up to ``MAX_SHRUNK_PIXELS``;
* every other image — PNG, WebP, BMP, TIFF, and progressive JPEGs, which libjpeg keeps whole
  in memory while it decodes them — up to ``MAX_PIXELS``.

Formats outside ``FORMATS`` are refused: their size cannot be checked the same way. One
image is decoded at a time, so parallel uploads cannot add up.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from dataclasses import dataclass

import cv2
import numpy as np

_LOGGER = logging.getLogger(__name__)

#: Pillow's names of the formats accepted: both Pillow and OpenCV read them, by the same magic bytes.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")
FORMATS_TEXT = "JPEG, PNG, WebP, BMP or TIFF"
#: Images decoded at full size: at most this many pixels (about 120 MB as BGR).
MAX_PIXELS = 40_000_000
#: Baseline JPEGs, decoded shrunk by libjpeg: at most this many pixels (a 108 MP phone photo).
MAX_SHRUNK_PIXELS = 120_000_000
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
_ONE_DECODE = threading.Lock()


class ImageRefused(ValueError):
    """The bytes are not an image camwatch decodes, or announce one too large; the message says which."""


@dataclass(frozen=True)
class ImageHeader:
    format: str  # Pillow's name: JPEG, PNG...
    width: int
    height: int
    progressive: bool  # a progressive JPEG (held whole in memory while decoded)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def shrinks_while_decoding(self) -> bool:
        return self.format == "JPEG" and not self.progressive


def read_header(data: bytes) -> ImageHeader:
    """Format and size from the header only (no pixel is decoded), or :class:`ImageRefused`."""
    from PIL import Image, UnidentifiedImageError  # for uploads only: a camera frame never needs it

    if not data:
        raise ImageRefused("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limits are ours, below
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                fmt = str(image.format)
                progressive = bool(image.info.get("progressive") or image.info.get("progression"))
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        raise ImageRefused(f"the image is too large to decode (far more than {MAX_SHRUNK_PIXELS // 1_000_000} "
                           "megapixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        _LOGGER.debug("image header not readable: %s", exc)
        raise ImageRefused(f"not a readable image ({FORMATS_TEXT} expected)") from None
    if width <= 0 or height <= 0:
        raise ImageRefused("the image has no pixels")
    return ImageHeader(fmt, width, height, progressive)


def check_size(header: ImageHeader) -> None:
    limit = MAX_SHRUNK_PIXELS if header.shrinks_while_decoding else MAX_PIXELS
    if header.pixels > limit:
        kind = "progressive JPEG" if header.progressive else header.format
        raise ImageRefused(f"a {kind} of {header.width}x{header.height} px is too large to decode (at most "
                           f"{limit // 1_000_000} megapixels; save it smaller, or as a baseline JPEG)")


def decode_untrusted(data: bytes, max_side: int) -> np.ndarray:
    """A BGR image of at most ``max_side`` px on its longest side, or :class:`ImageRefused`."""
    header = read_header(data)
    check_size(header)
    flag = cv2.IMREAD_COLOR
    if header.shrinks_while_decoding:
        flag = jpeg_decode_flag(max(header.width, header.height), max_side)
    with _ONE_DECODE:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        raise ImageRefused(f"not a readable image ({FORMATS_TEXT} expected)")
    if image.shape[0] * image.shape[1] > header.pixels:  # OpenCV read another picture than Pillow did
        raise ImageRefused("the image's header does not match its content")
    return shrink_to(image, max_side)


def jpeg_decode_flag(longest: int, max_side: int) -> int:
    """The OpenCV flag that decodes a JPEG whose longest side is ``longest`` px already shrunk:
    the largest libjpeg reduction that still leaves at least ``max_side`` px."""
    factor = max((f for f in _REDUCED if longest / f >= max_side), default=None)
    return _REDUCED[factor] if factor else cv2.IMREAD_COLOR


def shrink_to(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` brought down to at most ``max_side`` px on its longest side (never enlarged)."""
    longest = max(image.shape[:2])
    if longest > max_side:
        scale = max_side / longest
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image
