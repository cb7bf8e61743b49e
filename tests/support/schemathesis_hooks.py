"""schemathesis hooks for the API fuzz test (loaded through SCHEMATHESIS_HOOKS).

Three things in camwatch's OpenAPI document JSON Schema cannot generate by itself:
names with the printable-name rule (``format: camwatch-name``), Apprise addresses
(``format: apprise-url``) and photos to enrol (``image/jpeg`` parts). Valid ones come from
here: names drawn from letters, digits and a few marks (never the reserved ``unknown``),
webhook addresses on a loopback port where nothing listens (a test message fails at once,
nothing leaves the machine), and a real JPEG with a face from ../shared.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import schemathesis
from hypothesis import strategies as st

_NAMES = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ._'-]{0,30}[A-Za-z0-9]\Z").filter(
    lambda name: name.lower() != "unknown"
)
schemathesis.openapi.format("camwatch-name", _NAMES)
_HOOK_PATHS = st.from_regex(r"\A[a-z0-9]{1,12}\Z")
schemathesis.openapi.format("apprise-url", st.builds("json://127.0.0.1:9/{}".format, _HOOK_PATHS))

_FACE = Path(os.environ.get("CAMWATCH_FUZZ_FACE", ""))
if _FACE.is_file():
    image = cv2.imread(str(_FACE))
    ok, jpeg = cv2.imencode(".jpg", image)
    if ok:
        schemathesis.openapi.media_type("image/jpeg", st.just(jpeg.tobytes()))
