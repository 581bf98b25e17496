"""Metrics and baselines for reconstruction tasks (autoencoders): reconstruction error,
PSNR/SSIM for images, code statistics, anomaly ROC-AUC/PR-AUC, and the obvious baselines:
the mean training image, PCA at the same code size (the autoencoder-as-PCA comparison),
and classical filters (median, Gaussian blur) for denoising."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from sklearn import metrics as skm
from sklearn.decomposition import PCA

from nnjournal.evaluation.image_quality import psnr, ssim

# A code unit counts as inactive on an example when its activation is below this (codes of
# ReLU/sigmoid units on 0..1 images are O(0.1..10); 1e-3 is "off" for a reader).
INACTIVE = 1e-3


def _is_image(t: torch.Tensor) -> bool:
    return t.dim() == 4 or (t.dim() == 2 and int(round(t.shape[1] ** 0.5)) ** 2 == t.shape[1])


def per_example_error(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per example, (n,): the anomaly score."""
    return (recon.float() - target.float()).flatten(1).pow(2).mean(dim=1)


def reconstruction_metrics(
    inputs: torch.Tensor,
    recon: torch.Tensor,
    target: torch.Tensor,
    *,
    code: torch.Tensor | None = None,
    anomaly: torch.Tensor | None = None,
) -> dict[str, float]:
    """Test metrics of one reconstruction. `inputs` is what the model saw: when it differs
    from the target (noise, masks, grayscale) its own error is reported as `input_*`, the
    number a denoiser must beat. `anomaly` (n,) flags anomalies, scored by per-example MSE."""
    recon, target = recon.float().cpu(), target.float().cpu()
    err = per_example_error(recon, target)
    out = {
        "mse": float(err.mean()),
        "mae": float((recon - target).abs().mean()),
    }
    if float(target.min()) >= 0 and float(target.max()) <= 1:
        p = recon.clamp(1e-7, 1 - 1e-7)
        out["bce"] = float(F.binary_cross_entropy(p, target))
    images = _is_image(target)
    if images:
        out["psnr"] = float(psnr(target, recon.clamp(0, 1)).mean())
        out["ssim"] = float(ssim(target, recon.clamp(0, 1)).mean())
    inputs = inputs.float().cpu()
    if inputs.shape == target.shape and not torch.equal(inputs, target):
        out["input_mse"] = float(per_example_error(inputs, target).mean())
        # Error on the corrupted values only (masked holes, flipped pixels): what inpainting
        # must fill in, undiluted by the untouched background.
        hit = inputs != target
        out["corrupted_mse"] = float((recon - target)[hit].pow(2).mean())
        out["input_corrupted_mse"] = float((inputs - target)[hit].pow(2).mean())
        if images:
            out["input_psnr"] = float(psnr(target, inputs.clamp(0, 1)).mean())
            out["input_ssim"] = float(ssim(target, inputs.clamp(0, 1)).mean())
    if code is not None:
        h = code.float().cpu().abs()
        active = h > INACTIVE
        out["code_mean_activation"] = float(h.mean())
        out["code_inactive_fraction"] = float(1 - active.float().mean())
        out["code_dead_units"] = float((~active.any(dim=0)).float().mean())
    if anomaly is not None:
        out.update(anomaly_metrics(anomaly.cpu().numpy(), err.numpy()))
    return out


def anomaly_metrics(is_anomaly: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """ROC-AUC and PR-AUC (average precision) of scores where higher = more anomalous."""
    if len(np.unique(is_anomaly)) < 2:
        return {}
    return {
        "roc_auc": float(skm.roc_auc_score(is_anomaly, scores)),
        "pr_auc": float(skm.average_precision_score(is_anomaly, scores)),
    }


def _flat(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().reshape(len(t), -1).numpy()


def classical_filters(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Median 3x3 and Gaussian blur (sigma 1) of each image channel: the denoising baselines."""
    from nnjournal.evaluation.image_quality import as_images

    img = as_images(x.float().cpu()).numpy()
    med = ndimage.median_filter(img, size=(1, 1, 3, 3))
    gauss = ndimage.gaussian_filter(img, sigma=(0, 0, 1, 1))
    shape = x.shape
    return {
        "median filter 3x3": torch.from_numpy(med).reshape(shape),
        "Gaussian blur sigma 1": torch.from_numpy(gauss).reshape(shape),
    }


def run_reconstruction_baselines(
    bundle, kinds: list[str], n_components: int | None, seed: int, anomaly: torch.Tensor | None = None
) -> dict[str, dict[str, float]]:
    """Test-split metrics of each baseline on the same (possibly corrupted) test inputs.
    `dummy` = mean training image, `pca` = PCA fitted on the clean training targets with
    `n_components`, applied to the test inputs, `filter` = classical image filters; when the
    input is a smaller version of the target, bilinear, bicubic and Lanczos-3 upsampling
    (evaluation/upscaling.py); when it is a grey version, grey copied to every channel, the
    mean chroma and a ridge grey -> colour model (evaluation/colour_baseline.py)."""
    tr_y, te_x, te_y = bundle.train.y, bundle.test.x, bundle.test.y
    out: dict[str, dict[str, float]] = {}

    def score(recon: torch.Tensor) -> dict[str, float]:
        return reconstruction_metrics(te_x, recon, te_y, anomaly=anomaly)

    if "dummy" in kinds:
        mean = tr_y.float().mean(dim=0, keepdim=True).cpu()
        out["mean"] = score(mean.expand_as(te_y.cpu()))
    same_shape = te_x.shape == te_y.shape
    if "pca" in kinds and same_shape and n_components:
        k = min(n_components, *_flat(tr_y).shape)
        pca = PCA(n_components=k, random_state=seed).fit(_flat(tr_y))
        recon = pca.inverse_transform(pca.transform(_flat(te_x)))
        out[f"PCA {k} components"] = score(torch.from_numpy(recon).float().reshape(te_y.shape))
    if "inpainting" in kinds and same_shape and _is_image(te_x):  # issue 18: told which pixels changed
        from nnjournal.evaluation.inpainting import harmonic_inpaint

        te_cpu = te_x.float().cpu()
        out["harmonic inpainting (true mask)"] = score(harmonic_inpaint(te_cpu, te_cpu != te_y.float().cpu()))
    if "filter" in kinds:
        if same_shape and _is_image(te_x):
            for name, recon in classical_filters(te_x).items():
                out[name] = score(recon)
        elif te_x.dim() == 4 and te_x.shape[-1] < te_y.shape[-1]:
            from nnjournal.evaluation.upscaling import upscaling_baselines

            for name, up in upscaling_baselines(te_x, tuple(te_y.shape[-2:])).items():
                out[name] = score(up)
        elif te_x.dim() == 4 and te_x.shape[1] == 1 and te_y.shape[1] == 3:
            from nnjournal.evaluation.colour_baseline import colour_baselines

            for name, rgb in colour_baselines(bundle.train.x, tr_y, te_x).items():
                out[name] = score(rgb)
    return out


def downstream_scores(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, seed: int
) -> dict[str, float]:
    """Test accuracy of logistic regression and gradient boosting (scikit-learn's histogram
    GBM, an XGBoost-style learner) trained on the given features: how useful the features
    are, the question the notes' "sparse code fed to XGBoost" asks."""
    import warnings

    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Features constant on the training set (MNIST's border pixels, dead ReLU code units)
    # carry nothing a classifier can use; dropping them first keeps the histogram GBM from
    # binning them on every boosting round. 32 bins instead of 255: the same test accuracy on
    # raw MNIST-3000 (0.944 both) at half the time (measured; docs/benchmarks.md).
    varying = train_x.std(axis=0) > 0
    train_x, test_x = train_x[:, varying], test_x[:, varying]
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "gbm": HistGradientBoostingClassifier(max_iter=100, max_bins=32, random_state=seed),
    }
    out = {}
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(train_x, train_y)
        out[f"downstream_{name}_accuracy"] = float(skm.accuracy_score(test_y, model.predict(test_x)))
    return out
