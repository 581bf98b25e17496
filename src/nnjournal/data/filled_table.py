"""A table's blanks written back in the table's own terms: what `nnj predict` gives for an
imputation model ("auto filling").

Known cells are copied exactly as read. Each blank cell (or, in a numeric column, an
infinite one: the cells the encoding imputes) gets the network's value decoded to its
column's kind: a number un-standardized, kept within the training values' range and written
with as many decimals as the column's known values use, a date as its day (YYYY-MM-DD), a yes/no in the spelling the column already uses ("Yes"/"No", "true"/
"false", "1"/"0"), a category by its name. The "(other)" and "(missing)" buckets of the
one-hot encoding are never written: a blank is filled with the most likely real category."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnjournal.data.imputation import ColumnSlot
from nnjournal.data.tabular_encoding import MISSING, OTHER, ColumnEncoding, parse_boolean

# The other half of a yes/no spelling, for a column whose known values use only one of them.
_COUNTERPARTS = {"yes": "no", "true": "false", "y": "n", "t": "f", "1": "0", "1.0": "0.0"}
_COUNTERPARTS.update({v: k for k, v in list(_COUNTERPARTS.items())})


def filled_columns(
    columns: dict[str, list[str]],
    encodings: Sequence[ColumnEncoding],
    layout: Sequence[ColumnSlot],
    recon: np.ndarray,
) -> tuple[dict[str, list[str]], int]:
    """(every column of `columns` with its blanks filled from `recon`, the number of cells
    filled). `recon` is the network's raw output (n, F) over the value features of `layout`
    (standardized numbers, logits for booleans and categories), one `layout` slot per
    encoding, in the same order."""
    out = {name: list(values) for name, values in columns.items()}
    filled = 0
    for enc, slot in zip(encodings, layout, strict=True):
        values = out[enc.name]
        gaps = [i for i, v in enumerate(values) if enc.is_gap(v)]
        if not gaps:
            continue
        known = [v.strip() for v in values if not enc.is_gap(v)]
        raw = recon[gaps][:, list(slot.features)]
        if enc.kind == "numeric":
            text = _number_writer(known)
            numbers = raw[:, 0].astype(np.float64) * enc.std + enc.mean
            if enc.low is not None and enc.high is not None:  # within the training range: no negative tenure
                numbers = np.clip(numbers, enc.low, enc.high)
            fills = [text(float(x)) for x in numbers]
        elif enc.kind == "date":  # the days feature, un-standardized, as a day within the training range
            days = raw[:, 0].astype(np.float64) * enc.std + enc.mean
            if enc.low is not None and enc.high is not None:
                days = np.clip(days, enc.low, enc.high)
            fills = [str(np.datetime64(int(np.floor(d + 0.5)), "D")) for d in days]
        elif enc.kind == "boolean":
            true, false = _boolean_spelling(known)
            fills = [true if z > 0 else false for z in raw[:, 0]]
        else:
            real = [j for j, c in enumerate(enc.categories) if c not in (OTHER, MISSING)]
            if not real:  # nothing but the catch-all bucket was seen in training: nothing to name
                continue
            fills = [enc.categories[real[int(np.argmax(row[real]))]] for row in raw]
        for i, v in zip(gaps, fills, strict=True):
            values[i] = v
        filled += len(gaps)
    return out, filled


def _number_writer(known: list[str]) -> Any:
    """How the column writes its numbers: integers stay integers, decimals keep the known
    values' largest count of decimals (at most 6); exponents or no known value: 6 digits."""
    if not known or any("e" in v.lower() for v in known):
        return lambda x: f"{x:.6g}"
    decimals = min(6, max(len(v.partition(".")[2]) for v in known))
    if decimals == 0:
        return lambda x: str(int(round(x)))
    return lambda x: f"{x:.{decimals}f}"


def _boolean_spelling(known: list[str]) -> tuple[str, str]:
    """(how the column writes true, how it writes false): its most frequent spelling of each;
    one seen alone gets its counterpart in the same case ("Yes" -> "No")."""
    spell: dict[float, str] = {}
    for value in (1.0, 0.0):
        seen = Counter(v for v in known if parse_boolean(v) == value)
        if seen:
            spell[value] = sorted(seen, key=lambda s: (-seen[s], s))[0]
    for value, other in ((1.0, 0.0), (0.0, 1.0)):
        if value not in spell and other in spell:
            spell[value] = _same_case(
                _COUNTERPARTS.get(spell[other].lower(), "1" if value else "0"), spell[other]
            )
    return spell.get(1.0, "1"), spell.get(0.0, "0")


def _same_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word.capitalize()
    return word
