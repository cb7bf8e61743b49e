"""Face alerts: BlazeFace detection on tracked people, quality gates, a gallery of known
people and recognition through a pluggable ``FaceEmbedder``."""

from camwatch.faces.blazeface import BlazeFaceDetector, FaceBox
from camwatch.faces.embedder import EmbedderUnavailable, FaceEmbedder, load_embedder
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.gallery import FaceGallery, GalleryError
from camwatch.faces.naming import UNCERTAIN, UNKNOWN
from camwatch.faces.search import FaceSearch
from camwatch.faces.stage import FaceResult, FaceStage

__all__ = [
    "UNCERTAIN",
    "UNKNOWN",
    "BlazeFaceDetector",
    "EmbedderUnavailable",
    "FaceBox",
    "FaceEmbedder",
    "FaceFinder",
    "FaceGallery",
    "FaceResult",
    "FaceSearch",
    "FaceStage",
    "GalleryError",
    "load_embedder",
]
