"""Face detection and recognition settings."""

from __future__ import annotations

from pydantic import Field

from camwatch.config.base import Section


class FacesConfig(Section):
    """Global face settings."""

    enabled: bool = Field(False, title="Enabled", description="Look for faces on tracked people.")


class CameraFacesConfig(Section):
    """Per-camera face settings."""

    enabled: bool = Field(True, title="Enabled", description="Look for faces on this camera (when faces are enabled).")
    face_camera: bool = Field(
        False, title="Face camera", description="Also search the whole frame (a doorbell camera)."
    )
