"""Face detection and recognition settings (global, with per-camera overrides)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from camwatch.config.base import Section


class FacesConfig(Section):
    """Global face settings."""

    enabled: bool = Field(
        True,
        title="Enabled",
        description="Look for faces on tracked people (needs the BlazeFace models: `camwatch models pull`).",
    )
    model: str = Field(
        "blazeface_short_range",
        title="Face model",
        description="Manifest name of the BlazeFace model run where each person's face can be (close faces).",
    )
    face_camera_model: str = Field(
        "blazeface_full_range",
        title="Full-range face model",
        description="Manifest name of the BlazeFace model also run there for smaller faces, "
        "and on the whole frame of face cameras.",
    )
    min_score: float = Field(
        0.7,
        ge=0,
        le=1,
        title="Minimum face score",
        description="Faces below are ignored (BlazeFace scores 0.5-0.64 on empty rooms while lights change).",
    )
    min_size: float = Field(
        16,
        ge=4,
        title="Minimum face size (px)",
        description="Smallest face side, in full-resolution frame pixels, that can raise a face alert.",
    )
    min_sharpness: float = Field(
        6,
        ge=0,
        title="Minimum sharpness",
        description="Variance of the Laplacian of the face scaled to 64x64; blurrier faces are ignored. "
        "The face of someone walking by, sampled at 5 fps, measures 8-50; a sharp photo of a face hundreds.",
    )
    person_interval: float = Field(
        0.5,
        ge=0,
        title="Search interval per person (s)",
        description="Look for a face on one tracked person at most this often.",
    )
    upper_fraction: float = Field(
        0.5,
        gt=0.1,
        le=1,
        title="Searched part of a standing person",
        description="Share of a standing person's box, from the top, searched for a face "
        "(close-ups and boxes cut by the frame bottom are searched whole).",
    )
    num_threads: int = Field(1, ge=1, le=8, title="Threads", description="Threads of the face detector.")
    recognition: bool = Field(
        True, title="Recognition", description="Compare faces with the gallery of known people."
    )
    embedder: Literal["auto", "dlib", "none"] = Field(
        "auto",
        title="Face embedder",
        description="auto: dlib when the 'faces' extra is installed, else detection only; none: no recognition.",
    )
    recognition_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        title="Recognition threshold",
        description="Similarity (1 - dlib distance) at and above which a face is taken as a known person.",
    )
    sure_threshold: float = Field(
        0.6,
        ge=0,
        le=1,
        title="Sure match",
        description="One face at least this similar to a known person names them at once (a walker may show "
        "one usable face); below it, 'Matches to name' matches are needed. Never below the recognition threshold.",
    )
    recognition_min_size: float = Field(
        40,
        ge=8,
        title="Minimum size for recognition (px)",
        description="Smaller faces still raise face alerts but are not compared with the gallery.",
    )
    recognition_interval: float = Field(
        1.0,
        ge=0,
        title="Recognition interval per person (s)",
        description="Compare one tracked person's face with the gallery at most this often.",
    )
    name_votes: int = Field(
        2,
        ge=1,
        le=20,
        title="Matches to name",
        description="Recognitions of one tracked person that must match a known person before the "
        "name is given; a second known person matched as often makes the name 'uncertain'.",
    )

    @model_validator(mode="after")
    def _sure_above_threshold(self) -> FacesConfig:
        if self.sure_threshold < self.recognition_threshold:
            raise ValueError("sure_threshold must not be below recognition_threshold")
        return self


class CameraFacesConfig(Section):
    """Per-camera face settings; unset values use the global ones."""

    enabled: bool = Field(True, title="Enabled", description="Look for faces on this camera (when faces are enabled).")
    face_camera: bool = Field(
        False, title="Face camera", description="Also search the whole frame (a doorbell camera)."
    )
    min_score: float | None = Field(
        None, ge=0, le=1, title="Minimum face score", description="Overrides the global minimum face score."
    )
    min_size: float | None = Field(
        None, ge=4, title="Minimum face size (px)", description="Overrides the global minimum face size."
    )
    person_interval: float | None = Field(
        None,
        ge=0,
        title="Search interval per person (s)",
        description="Overrides the global search interval per person.",
    )
    unknown_alert: bool = Field(
        False,
        title="Alert on a face I do not know",
        description="When a person whose face was seen and compared leaves this camera's view unnamed, "
        "notifications send one more message: 'Unknown face at <camera>' (the Faces page sets it).",
    )
