"""Finding the face to enrol in an uploaded photo or an event's face crop.

Photos of any pixel size are accepted: a JPEG is decoded already shrunk (libjpeg scales while
decoding, so a 50-megapixel phone photo never sits in memory at full size) and every photo is
brought down to ``PHOTO_SIDE`` px on its longest side — far more than the face descriptor uses
(a 150 px face chip). Only images whose header announces more than ``MAX_PIXELS`` in a format
that cannot be decoded shrunk (PNG, BMP...) are refused, as such a file can unpack to gigabytes.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import cv2
import numpy as np

from camwatch.faces.blazeface import BlazeFaceDetector, FaceBox
from camwatch.faces.gallery import FaceGallery, GalleryError
from camwatch.faces.search import FaceSearch
from camwatch.faces.verify import load_face_check
from camwatch.imaging import jpeg_decode_flag, shrink_to

_LOGGER = logging.getLogger(__name__)

#: A second face at least this wide (share of the largest face's width) and this clear makes a
#: photo ambiguous: whose face is it? Smaller ones are people far behind, which a portrait often
#: has; BlazeFace scored the second person of the two-person photos here 0.86-0.96, and a seal
#: behind a speaker 0.75.
SECOND_FACE = 0.5
SECOND_FACE_SCORE = 0.85
#: Enrolment photos are brought down to this longest side.
PHOTO_SIDE = 2048
#: Images that cannot be decoded shrunk are refused above this many pixels (about 600 MB as BGR).
MAX_PIXELS = 200_000_000


class FaceFinder:
    """Finds the largest clear face in a still image with BlazeFace short and full range, at a
    scale that suits them (``faces.search``: long photos are also searched in square windows),
    that dlib's face detector also takes for a face (``faces.verify``; when dlib is installed)."""

    def __init__(self, model_paths: list[Path], min_score: float = 0.7, check: bool = True) -> None:
        if not model_paths:
            raise ValueError("FaceFinder needs at least one model")
        self.detectors = [BlazeFaceDetector(p) for p in model_paths]
        self.search = FaceSearch(self.detectors)
        self.min_score = min_score
        self.face_check = load_face_check() if check else None

    def find(self, image_bgr: np.ndarray) -> FaceBox | None:
        faces = self.faces(image_bgr)
        return faces[0] if faces else None

    def faces(self, image_bgr: np.ndarray) -> list[FaceBox]:
        """Every clear face of the image, largest first."""
        faces = self.search.find(image_bgr, None, self.min_score)
        if self.face_check is not None:
            faces = [f for f in faces if self.face_check.is_face(image_bgr, f)]
        return sorted(faces, key=lambda f: f.width * f.height, reverse=True)


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) read from a JPEG, PNG or BMP header, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return "bmp", abs(width), abs(height)
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 <= len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
                pos += 2
                continue
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return "jpeg", width, height
            pos += 2 + length
    return None


def decode_image(data: bytes, max_side: int = PHOTO_SIDE) -> np.ndarray:
    """A BGR image of at most ``max_side`` px from JPEG/PNG/BMP bytes, or GalleryError."""
    if not data:
        raise GalleryError("empty image")
    header = image_size(data)
    flag = cv2.IMREAD_COLOR
    if header is not None:
        kind, width, height = header
        longest = max(width, height)
        if kind == "jpeg":
            flag = jpeg_decode_flag(longest, max_side)
        elif width * height > MAX_PIXELS:
            raise GalleryError(f"image of {width}x{height} px is too large to decode (save it as JPEG)")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        raise GalleryError("not a readable image (JPEG, PNG or BMP expected)")
    return shrink_to(image, max_side)


def enrol_image(gallery: FaceGallery, finder: FaceFinder, name: str, image_bgr: np.ndarray, source: str) -> int:
    """Enrol the face of the image as ``name``; GalleryError when there is none, or when two
    people's faces are in it (enrolling the wrong one would name one person after the other)."""
    faces = finder.faces(image_bgr)
    if not faces:
        raise GalleryError("no face found in the image")
    clear = [f for f in faces if f.score >= SECOND_FACE_SCORE]
    face = clear[0] if clear else faces[0]  # the largest clear face, not a larger doubtful one
    others = [f for f in clear if f is not face and f.width >= SECOND_FACE * face.width]
    if others:
        raise GalleryError(f"this photo shows {len(others) + 1} faces: use a photo of {name} alone, "
                           "or crop it to their face")
    return gallery.enrol(name, image_bgr, face.box, source)
