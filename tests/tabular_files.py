"""CSV files the tabular tests write: a mixed-type table with gaps and a learnable target,
and the broken files the CLI must reject."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_mixed_csv(path: Path, n: int = 600, seed: int = 0) -> Path:
    """Columns: an id, numeric strings with blanks, a yes/no column, a 0/1 column, a
    categorical with blanks and a rare category, and a binary target `bought` that depends
    on all of them (so a working model beats the majority class clearly)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round(1)
    income = rng.lognormal(10, 0.5, n).round(2)
    member = rng.random(n) < 0.4
    newsletter = rng.random(n) < 0.5
    city = rng.choice(["Oslo", "Paris", "Rome", "Tiny Town"], n, p=[0.4, 0.35, 0.23, 0.02])
    logit = 0.15 * (age - 40) + 2.5 * member - 2.0 * (city == "Rome") + 1.5 * np.log(income / 22000)
    bought = rng.random(n) < 1 / (1 + np.exp(-logit))
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "age", "income", "member", "newsletter", "city", "bought"])
        for i in range(n):
            w.writerow(
                [
                    f"C{i:05d}",
                    "" if i % 17 == 3 else f"{age[i]}",
                    " " if i % 23 == 5 else f"{income[i]}",
                    "Yes" if member[i] else "No",
                    int(newsletter[i]),
                    "" if i % 29 == 7 else city[i],
                    "yes" if bought[i] else "no",
                ]
            )
    return path


def feature_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
