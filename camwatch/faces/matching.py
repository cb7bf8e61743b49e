"""A known person's score for a face, from their enrolled samples and the samples' degraded views.

* ``ORIGINAL`` templates are the enrolled faces themselves: the best of them is the score a sharp
  probe gets, exactly as before views existed.
* ``VIEW`` templates are degraded copies of those faces (``faces.views``). A blurred or low-detail
  probe lies closer to them than to the sharp photo — and so does a blurred stranger, because poor
  faces look more alike to the recogniser. Measured on the faces-eval set (docs/faces.md), the best
  single view of the wrong person rose by up to 0.07 where the right person's rose by 0.14, while
  the mean of the best ``TOP_K`` matches kept strangers 0.05 lower than the best single one and the
  right person about where they were. So a person's score is the better of: the best original, and
  the mean of their best ``TOP_K`` templates of any kind.

Views are for poor faces only: a face with the detail of a sharp face (``faces.quality.sharpness``
at least ``POOR_DETAIL``) is compared with the enrolled faces alone, exactly as without views, so
a clear face of a stranger gets no chance from a degraded copy. The views themselves measure 36-650
(a 32 or 56 px face's detail), sharp photos of faces 900-2000, the faces-eval probe photos 475-2250
and their protocol-degraded copies 47-610.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ORIGINAL = 0
VIEW = 1
#: Matches averaged over a person's samples and views.
TOP_K = 3
#: Faces less detailed than this (sharpness at 64x64) are compared with the views too.
POOR_DETAIL = 400.0


def person_scores(
    similarities: np.ndarray, names: Sequence[str], kinds: np.ndarray, detail: float | None = None
) -> dict[str, float]:
    """Known name → score, from the similarity of one face to every template; ``detail`` is the
    face's sharpness (None: unknown, treated as poor)."""
    out: dict[str, float] = {}
    names_array = np.asarray(names)
    poor = detail is None or detail < POOR_DETAIL
    for name in dict.fromkeys(names):
        mine = names_array == name
        values = similarities[mine]
        originals = values[kinds[mine] == ORIGINAL]
        best_original = float(originals.max()) if len(originals) else float("-inf")
        top = np.sort(values)[::-1][:TOP_K]
        out[name] = max(best_original, float(top.mean())) if poor else best_original
    return out
