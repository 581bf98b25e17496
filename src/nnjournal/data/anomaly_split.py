"""A rare class made rarer: anomaly detection on a labelled table scores a test split where the
anomalies are a few percent, as they are where detectors are used (bank churners are 20% of
the file; `task.anomaly_share = 0.05` keeps a seeded subset of them so they are 5% of the test
rows). ROC-AUC does not depend on the share; PR-AUC (average precision) does, and reads as the
precision a detector's alarms have at that prevalence."""

from __future__ import annotations

import numpy as np
import torch

from nnjournal.errors import NNJError


def keep_anomaly_share(anomaly: torch.Tensor, share: float, seed: int) -> torch.Tensor:
    """Indices (sorted) of every normal example and of a seeded subset of the anomalies, so
    that anomalies are `share` of the result (all of them if they are already rarer)."""
    flags = anomaly.cpu().numpy().astype(bool)
    normal, rare = np.flatnonzero(~flags), np.flatnonzero(flags)
    if len(normal) == 0:
        raise NNJError("task.anomaly_share: the test split holds no normal example (check task.normal_class)")
    want = int(round(share * len(normal) / (1.0 - share)))
    if want < len(rare):
        rare = np.random.default_rng(seed).choice(rare, size=max(want, 1), replace=False)
    return torch.from_numpy(np.sort(np.concatenate([normal, rare])))
