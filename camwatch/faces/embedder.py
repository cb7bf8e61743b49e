"""Face embedders: turn a face into a vector so that the same person's faces lie close.

``FaceEmbedder`` is the interface; ``DlibEmbedder`` is the implementation shipped as the
``faces`` extra (``pip install 'camwatch[faces]'``): dlib's ResNet face descriptor (128-d,
99.38 % on LFW per its authors) from ``face_recognition_models``, aligned with dlib's
5-point landmark model. It runs on any x86-64 or ARM CPU, offline, with no AVX2
requirement in the model itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from camwatch.detectors.base import Box

_LOGGER = logging.getLogger(__name__)

EMBEDDER_CHOICES = ("auto", "dlib", "none")
_SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
_NET_MODEL = "dlib_face_recognition_resnet_model_v1.dat"


def _model_file(name: str) -> Path:
    """A file of the ``face_recognition_models`` package, found without importing it (its
    ``__init__`` needs ``pkg_resources``, which new setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "models" / name
        if path.is_file():
            return path
    raise EmbedderUnavailable(
        f"{name} not found: the face_recognition_models package is missing; "
        "install the extra: pip install 'camwatch[faces]'"
    )


class EmbedderUnavailable(RuntimeError):
    """The requested face embedder cannot be loaded (its package is not installed)."""


class FaceEmbedder(ABC):
    """Computes face embeddings and compares them.

    ``similarity`` is in 0..1-ish, higher means more alike; ``default_threshold`` is the
    similarity at and above which two faces are taken as the same person.
    """

    name: str = "abstract"
    dim: int = 0
    default_threshold: float = 0.5

    @abstractmethod
    def embed(self, image_bgr: np.ndarray, box: Box) -> np.ndarray:
        """Embedding (float32, ``dim`` values) of the face at ``box`` (pixels) of the image."""

    @abstractmethod
    def similarity(self, embedding: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Similarity of one embedding to each row of ``others`` (shape (n, dim))."""


class DlibEmbedder(FaceEmbedder):
    """dlib ResNet-34-style face descriptor (``dlib_face_recognition_resnet_model_v1``).

    dlib's authors use a Euclidean distance of 0.6 as "same person"; ``similarity`` is
    ``1 - distance``, so that threshold is a similarity of 0.4.
    """

    name = "dlib"
    dim = 128
    default_threshold = 0.5  # distance 0.5: stricter than dlib's 0.6, measured in docs/faces.md

    def __init__(self, num_jitters: int = 0) -> None:
        hint = "install the extra: pip install 'camwatch[faces]'"
        try:
            dlib = importlib.import_module("dlib")
        except ImportError as exc:
            raise EmbedderUnavailable(f"dlib face embedder not installed ({exc}); {hint}") from exc
        shape_file, net_file = (_model_file(n) for n in (_SHAPE_MODEL, _NET_MODEL))
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(shape_file))
        self._net = dlib.face_recognition_model_v1(str(net_file))
        self.num_jitters = num_jitters
        self._lock = threading.Lock()  # dlib objects are not documented as thread-safe

    def embed(self, image_bgr: np.ndarray, box: Box) -> np.ndarray:
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        rect = self._dlib.rectangle(x1, y1, x2, y2)
        with self._lock:
            shape = self._shape(rgb, rect)
            vector = self._net.compute_face_descriptor(rgb, shape, self.num_jitters)
        return np.asarray(vector, dtype=np.float32)

    def similarity(self, embedding: np.ndarray, others: np.ndarray) -> np.ndarray:
        if len(others) == 0:
            return np.zeros(0, dtype=np.float32)
        distances = np.linalg.norm(np.asarray(others, dtype=np.float32) - embedding[None, :], axis=1)
        return (1.0 - distances).astype(np.float32)


def load_embedder(kind: str = "auto") -> FaceEmbedder | None:
    """The embedder named by config: ``auto`` (dlib when installed, else none), ``dlib``, ``none``.

    ``auto`` without an installed embedder returns None (detection-only face alerts);
    ``dlib`` without the package raises EmbedderUnavailable.
    """
    if kind == "none":
        return None
    if kind not in EMBEDDER_CHOICES:
        raise ValueError(f"unknown face embedder {kind!r} (choose from {', '.join(EMBEDDER_CHOICES)})")
    try:
        return DlibEmbedder()
    except EmbedderUnavailable as exc:
        if kind == "dlib":
            raise
        _LOGGER.info("face recognition off: %s", exc)
        return None
