"""Finding the face to enrol in an uploaded photo or an event's face crop."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from camwatch.faces.blazeface import BlazeFaceDetector, FaceBox
from camwatch.faces.gallery import FaceGallery, GalleryError

_LOGGER = logging.getLogger(__name__)

MAX_UPLOAD_SIDE = 4096


class FaceFinder:
    """Finds the largest clear face in a still image with one or more BlazeFace models
    (short range first: photos are usually close-ups; full range for smaller faces)."""

    def __init__(self, model_paths: list[Path], min_score: float = 0.7) -> None:
        if not model_paths:
            raise ValueError("FaceFinder needs at least one model")
        self.detectors = [BlazeFaceDetector(p) for p in model_paths]
        self.min_score = min_score

    def find(self, image_bgr: np.ndarray) -> FaceBox | None:
        for detector in self.detectors:
            faces = detector.detect(image_bgr, self.min_score)
            if faces:
                return max(faces, key=lambda f: f.width * f.height)
        return None


def decode_image(data: bytes) -> np.ndarray:
    """A BGR image from JPEG/PNG/BMP bytes, or GalleryError."""
    if not data:
        raise GalleryError("empty image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise GalleryError("not a readable image (JPEG, PNG or BMP expected)")
    if max(image.shape[:2]) > MAX_UPLOAD_SIDE:
        raise GalleryError(f"image larger than {MAX_UPLOAD_SIDE} px")
    return image


def enrol_image(gallery: FaceGallery, finder: FaceFinder, name: str, image_bgr: np.ndarray, source: str) -> int:
    """Enrol the largest face of the image as ``name``; GalleryError when there is none."""
    face = finder.find(image_bgr)
    if face is None:
        raise GalleryError("no face found in the image")
    return gallery.enrol(name, image_bgr, face.box, source)
