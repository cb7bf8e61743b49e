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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ORIGINAL = 0
VIEW = 1
#: Matches averaged over a person's samples and views.
TOP_K = 3


def person_scores(similarities: np.ndarray, names: Sequence[str], kinds: np.ndarray) -> dict[str, float]:
    """Known name → score, from the similarity of one face to every template."""
    out: dict[str, float] = {}
    names_array = np.asarray(names)
    for name in dict.fromkeys(names):
        mine = names_array == name
        values = similarities[mine]
        originals = values[kinds[mine] == ORIGINAL]
        best_original = float(originals.max()) if len(originals) else float("-inf")
        top = np.sort(values)[::-1][:TOP_K]
        out[name] = max(best_original, float(top.mean()))
    return out
