"""schemathesis hooks for the API fuzz test (loaded through SCHEMATHESIS_HOOKS).

Three things in camwatch's OpenAPI document JSON Schema cannot generate by itself:
names with the printable-name rule (``format: camwatch-name``), Apprise addresses
(``format: apprise-url``) and photos to enrol (``image/jpeg`` parts). Valid ones come from
here: names drawn from letters, digits and a few marks (never the reserved ``unknown``),
webhook addresses on a loopback port where nothing listens (a test message fails at once,
nothing leaves the machine), and a real JPEG with a face from ../shared.

Names and addresses come in every length from the shortest to one past the longest the API
takes, each end as likely as all lengths between: schemathesis's coverage phase asks a
format for values of exactly the boundary lengths (shortest, longest, one too long) and can
only filter what the format draws, so a length the format never reaches is searched for
until it gives up (about a second each, 33 of them before) and that case is never sent.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import cv2
import schemathesis
from hypothesis import strategies as st

#: The longest name and Apprise address the API takes (the schemas' maxLength:
#: camwatch.web.schema_parts.display_name(64), camwatch.web.limits.MAX_URL_LENGTH).
LONGEST_NAME = 64
LONGEST_URL = 2000


def _lengths(shortest: int, longest: int) -> st.SearchStrategy[int]:
    """``shortest`` to one past ``longest``; the ends and their neighbours as often as all between."""
    ends = [shortest, shortest + 1, longest - 1, longest, longest + 1]
    return st.one_of(st.sampled_from(ends), st.integers(shortest, longest + 1))


_EDGE = string.ascii_letters + string.digits
_INNER = _EDGE + " ._'-"


def _name(length: int) -> st.SearchStrategy[str]:
    """A name of ``length`` characters: a letter or digit first and last."""
    if length == 1:
        return st.sampled_from(_EDGE)
    return st.builds("{}{}{}".format, st.sampled_from(_EDGE),
                     st.text(_INNER, min_size=length - 2, max_size=length - 2), st.sampled_from(_EDGE))


_NAMES = _lengths(1, LONGEST_NAME).flatmap(_name).filter(lambda name: name.lower() != "unknown")
schemathesis.openapi.format("camwatch-name", _NAMES)

_HOOK = "json://127.0.0.1:9/"
_HOOK_PATHS = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
# A long address is the path drawn, then zeros to its length (cheap to draw at any length).
_HOOKS = st.builds(lambda path, length: (_HOOK + path + "0" * length)[:length], _HOOK_PATHS,
                   _lengths(len(_HOOK) + 1, LONGEST_URL))
schemathesis.openapi.format("apprise-url", _HOOKS)

_FACE = Path(os.environ.get("CAMWATCH_FUZZ_FACE", ""))
if _FACE.is_file():
    image = cv2.imread(str(_FACE))
    ok, jpeg = cv2.imencode(".jpg", image)
    if ok:
        schemathesis.openapi.media_type("image/jpeg", st.just(jpeg.tobytes()))
