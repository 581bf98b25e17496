"""Which of several names a user most likely meant: for column and folder names that are off
by case, spaces or a typo, so a message can say "did you mean 'Churn'?" or "rename 'City' to
'city'" instead of only listing every name."""

from __future__ import annotations

import difflib


def closest_name(name: str, names: list[str]) -> str | None:
    """The one of `names` that `name` most likely means: the same but for case, spaces and
    underscores ('churn' -> 'Churn', 'monthly charges' -> 'MonthlyCharges'), else a close
    spelling ('MonthlyCharge' -> 'MonthlyCharges'); None if none is close."""

    def fold(text: str) -> str:
        return text.casefold().replace(" ", "").replace("_", "")

    same = [n for n in names if fold(n) == fold(name)]
    if same:
        return same[0]
    found = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return found[0] if found else None
