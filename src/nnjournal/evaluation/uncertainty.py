"""How far apart two test scores must be before a report calls one better.

`difference_noise(metric, a, b, n)` is the half-width of a 95% interval for the difference of two
scores measured on a test split of `n` rows, from each score's standard error:

- proportions (accuracy, exact match): the binomial sqrt(p(1 - p) / n);
- class averages (balanced accuracy, macro recall / precision / F1): the mean of k per-class
  proportions, sqrt(p(1 - p) * sum_c 1/n_c) / k with the class counts n_c (each class's
  score taken to be the average's);
- the positive class's precision / recall / F1: a proportion over the positive rows;
- ROC-AUC: Hanley & McNeil's (1982) standard error from the positive and negative counts (for
  more classes, the rarest class against the rest);
- RMSE, MSE, MAE, R²: the delta-method errors for Gaussian residuals, RMSE / sqrt(2n),
  MSE * sqrt(2 / n), MAE * sqrt((pi / 2 - 1) / n), (1 - R²) * sqrt(2 / n). Heavy-tailed
  residuals have larger errors than these.

The summary keeps no per-row predictions of the baselines, so the two scores are treated as
independent. Two models scored on the same rows agree on most of them, which makes the true
interval of their difference narrower: this one errs towards "within noise", so a difference
it calls clear is clear. A difference of one test row is never more than noise. Metrics
without a formula here (log loss, PSNR, bits per character, ...) get None: no claim either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.96  # two-sided 95% normal quantile

PROPORTIONS = {"accuracy", "exact_match", "sequence_accuracy"}
CLASS_AVERAGES = {"balanced_accuracy", "recall_macro", "precision_macro", "f1_macro"}
POSITIVE_CLASS = {"precision", "recall", "f1"}
RANKING = {"roc_auc", "average_precision"}


def standard_error(
    metric: str, value: float, n: int, class_counts: Sequence[int] | None = None
) -> float | None:
    """The standard error of one test score, or None where this module has no formula."""
    if n <= 0 or not math.isfinite(value):
        return None
    counts = [int(c) for c in class_counts] if class_counts else None
    p = min(max(value, 0.0), 1.0)
    if metric in PROPORTIONS:
        return math.sqrt(p * (1 - p) / n)
    if metric in CLASS_AVERAGES:
        if counts and all(c > 0 for c in counts):
            return math.sqrt(p * (1 - p) * sum(1 / c for c in counts)) / len(counts)
        return math.sqrt(p * (1 - p) / n)
    if metric in POSITIVE_CLASS:
        n_pos = counts[1] if counts and len(counts) == 2 and counts[1] > 0 else n
        return math.sqrt(p * (1 - p) / n_pos)
    if metric in RANKING:
        if not counts or len(counts) < 2 or min(counts) == 0:
            return None
        n1 = min(counts) if len(counts) > 2 else counts[1]
        return _hanley_mcneil(p, n1, sum(counts) - n1)
    if metric == "rmse":
        return abs(value) / math.sqrt(2 * n)
    if metric == "mse":
        return abs(value) * math.sqrt(2 / n)
    if metric == "mae":
        return abs(value) * math.sqrt((math.pi / 2 - 1) / n)
    if metric in ("r2", "adjusted_r2"):
        return max(1 - value, 0.0) * math.sqrt(2 / n)
    return None


def _hanley_mcneil(auc: float, n_pos: int, n_neg: int) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def difference_noise(
    metric: str, a: float, b: float, n: int | None, class_counts: Sequence[int] | None = None
) -> float | None:
    """Half-width of the 95% interval of `a - b` for two scores on the same `n` test rows
    (see the module's note), or None without `n` or a formula for `metric`."""
    if not n:
        return None
    se_a = standard_error(metric, a, n, class_counts)
    se_b = standard_error(metric, b, n, class_counts)
    if se_a is None or se_b is None:
        return None
    return max(Z95 * math.sqrt(se_a**2 + se_b**2), _one_row(metric, n, class_counts))


def _one_row(metric: str, n: int, class_counts: Sequence[int] | None) -> float:
    """How much one test row answered differently moves `metric` (at most): a difference that
    small is never a finding, even where both scores are perfect and the errors above are 0."""
    counts = [int(c) for c in class_counts] if class_counts else []
    if metric in PROPORTIONS:
        return 1 / n
    if metric in CLASS_AVERAGES and counts and min(counts) > 0:
        return 1 / (len(counts) * min(counts))
    if metric in POSITIVE_CLASS and len(counts) == 2 and counts[1] > 0:
        return 1 / counts[1]
    return 0.0
