"""Scoring imputation on values hidden on purpose: hide a seeded random fraction of the known
cells (MCAR), fill them, compare with the truth.

- Numbers: RMSE per column in the encoded (standardized) units, i.e. RMSE in the column's own
  units divided by its training std; `imputed_nrmse` is the mean over numeric columns (1.0 is
  about what the training mean scores, lower is better).
- Booleans and categories: the share of hidden cells filled with the right value, per column;
  `imputed_accuracy` is the mean over those columns.

Baselines fitted on the training rows: the encoding's own fill (median / most frequent) and
scikit-learn's `IterativeImputer` on the one-hot encoded columns, with every level of a
category and with its first level left out (data/imputation.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnjournal.data.imputation import ColumnSlot, IterativeTableImputer, cells_to_features


def hide_cells(known: np.ndarray, layout: list[ColumnSlot], fraction: float, seed: int) -> np.ndarray:
    """(n, F) bool: a seeded `fraction` of the raw cells hidden, whole one-hot groups at once,
    only where the value is known (a blank already in the file has no truth to score)."""
    rng = np.random.default_rng(seed)
    cells = rng.random((len(known), len(layout))) < fraction
    return cells_to_features(cells, layout) & known


def imputation_scores(
    filled: np.ndarray, truth: np.ndarray, hidden: np.ndarray, layout: list[ColumnSlot]
) -> tuple[dict[str, float], dict[str, float]]:
    """(summary metrics, per-column scores) of `filled` against `truth` on the `hidden` cells."""
    per: dict[str, float] = {}
    nrmse, acc = [], []
    cells = 0
    for s in layout:
        idx = list(s.features)
        rows = hidden[:, idx[0]]
        if not rows.any():
            continue
        cells += int(rows.sum())
        f, t = filled[rows][:, idx], truth[rows][:, idx]
        if s.kind == "numeric":
            per[s.name] = float(np.sqrt(np.mean((f[:, 0] - t[:, 0]) ** 2)))
            nrmse.append(per[s.name])
        else:
            # every encoded feature of the group right = the right category (or yes/no)
            per[s.name] = float(np.mean(np.all(np.isclose(f, t), axis=1)))
            acc.append(per[s.name])
    out = {"hidden_cells": float(cells)}
    if nrmse:
        out["imputed_nrmse"] = float(np.mean(nrmse))
    if acc:
        out["imputed_accuracy"] = float(np.mean(acc))
    return out, per


MEDIAN = "median / most frequent"
ITERATIVE = "IterativeImputer (BayesianRidge, one-hot)"
ITERATIVE_DROP = "IterativeImputer (BayesianRidge, one-hot less a level)"


def baseline_fills(
    train_v: np.ndarray,
    test_in: np.ndarray,
    fill: np.ndarray,
    layout: list[ColumnSlot],
    seed: int,
    iterative: bool = True,
) -> dict[str, np.ndarray]:
    """The baselines' filled test matrices. `train_v`: training value features with NaN at the
    file's own gaps; `test_in`: test values with NaN at the hidden cells; `fill` (F,): the
    encoding's median / most-frequent fill of a blank."""
    out = {MEDIAN: np.where(np.isnan(test_in), fill[None, :], test_in)}
    if iterative:  # both encodings of a category: each wins somewhere (docs/benchmarks.md, "Autoencoder applications")
        for name, drop in ((ITERATIVE, False), (ITERATIVE_DROP, True)):
            imputer = IterativeTableImputer(layout, list(range(train_v.shape[1])), drop_first=drop)
            out[name] = imputer.fit(train_v, seed).fill(test_in)
    return out


def blank_fill(prep: Any, values: list[int]) -> np.ndarray:
    """(F,) what the fitted encoding puts in a blank cell: the standardized training median of
    a number, the most frequent training value of a boolean or category."""
    blank = {c.name: [""] for c in prep.columns}
    return prep.transform(blank)[0, values]


def comparison_sentence(
    net: dict[str, float], baselines: dict[str, dict[str, float]], name: str
) -> list[str]:
    """Sentences from the numbers: the network against each baseline, RMSE and accuracy."""
    lines = []
    for b, m in baselines.items():
        parts = []
        if "imputed_nrmse" in net and "imputed_nrmse" in m:
            rel = (net["imputed_nrmse"] / m["imputed_nrmse"] - 1) * 100
            parts.append(
                f"normalized RMSE {net['imputed_nrmse']:.4f} against {m['imputed_nrmse']:.4f} "
                f"({abs(rel):.1f}% {'lower' if rel < 0 else 'higher'})"
            )
        if "imputed_accuracy" in net and "imputed_accuracy" in m:
            parts.append(f"accuracy {net['imputed_accuracy']:.4f} against {m['imputed_accuracy']:.4f}")
        if parts:
            lines.append(f"On the hidden test cells {name} scores {' and '.join(parts)} for {b}.")
    return lines
