"""What an autoencoder run adds to its journal entry beyond its metrics: the classical
baselines (mean image, PCA at the code size, median / Gaussian filters, resizing) and the
downstream accuracy of classifiers trained on the codes next to the raw inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nnjournal.data.bundle import DataBundle
from nnjournal.evaluation.reconstruction import downstream_scores, run_reconstruction_baselines
from nnjournal.training.predict import predict_outputs


def baselines(bundle: DataBundle, cfg: Any) -> dict[str, Any]:
    """Mean image, PCA at the code size, classical filters (evaluation/reconstruction.py)."""
    m = cfg.model
    k = cfg.evaluation.pca_components or getattr(m, "code_size", None) or getattr(m, "latent", None)
    if getattr(m, "kind", "dense") == "conv" and not cfg.evaluation.pca_components:
        k = None  # a conv code is a feature map, not a size PCA can match; ask for it explicitly
    anomaly = getattr(bundle.test, "anomaly", None)
    out = run_reconstruction_baselines(bundle, cfg.evaluation.baselines, k, cfg.seed, anomaly)
    if cfg.evaluation.downstream:
        out["raw inputs"] = {"mse": float("nan"), **downstream(None, bundle, cfg.seed)}
    return out


def downstream(model: torch.nn.Module | None, bundle: DataBundle, seed: int) -> dict[str, float]:
    """Downstream accuracy of classifiers on the model's codes (or the raw inputs if None)."""

    def features(x: torch.Tensor) -> np.ndarray:
        f = predict_outputs(model, x).code if model is not None else x
        return f.float().cpu().reshape(len(x), -1).numpy()

    tr, te = bundle.train, bundle.test
    return downstream_scores(
        features(tr.x), tr.labels.cpu().numpy(), features(te.x), te.labels.cpu().numpy(), seed
    )
