"""Plots for autoencoder journal entries: what a person wants to look at.

- original / model input (corrupted, masked, grey, small) / reconstruction grids;
- the code space scattered in 2-D, coloured by class (the code itself when it has two
  dimensions, else its first two principal components);
- for a VAE: samples decoded from z ~ N(0, I), interpolations between test images in latent
  space, and the decoded latent map over a grid when the latent space is 2-D;
- for anomaly detection: reconstruction-error histograms of normal vs anomalous examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA

from nnjournal.evaluation.reconstruction import per_example_error
from nnjournal.journal.plots import plt, save
from nnjournal.training.predict import predict_outputs


def describe_model(m: Any) -> str:
    """One line naming the architecture and its regularizers, for the report."""
    if m.name == "vae":
        return f"VAE, dense encoder/decoder {m.hidden}, latent {m.latent}, {m.activation}"
    if m.kind == "unet":
        parts = [f"U-Net, channels {m.channels} (skip connections between encoder and decoder levels)"]
        if m.upscale > 1:
            parts.append(f"sub-pixel upscaling x{m.upscale}")
        if m.chroma:
            parts.append("predicts chroma only (luma kept exact)")
        elif m.skip:
            parts.append("adds its output to the input upscaled by Lanczos-3 (or grey copied to RGB)")
    elif m.kind == "conv":
        parts = [f"conv autoencoder, channels {m.channels} (conv 3x3 + pool / conv 3x3 + upsample)"]
        if m.upscale > 1:
            parts.append(f"sub-pixel upscaling x{m.upscale}")
    else:
        depth = "stacked " if len(m.hidden) > 1 else ""
        parts = [f"{depth}dense autoencoder, hidden {m.hidden}, code {m.code_size} ({m.code_activation})"]
        parts.append(f"{m.activation} hidden" if m.hidden else "")
        if m.tied:
            parts.append("tied weights")
    parts.append(f"{m.output_activation} output")
    if m.sparsity != "none" and m.sparsity_weight > 0:
        extra = f", target rho {m.sparsity_target:g}" if m.sparsity == "kl" else ""
        parts.append(f"{m.sparsity} sparsity {m.sparsity_weight:g}{extra}")
    if m.contractive > 0:
        parts.append(f"contractive penalty {m.contractive:g}")
    return ", ".join(p for p in parts if p)


def _as_display(x: torch.Tensor) -> np.ndarray:
    """(n, H, W) or (n, H, W, 3) floats in 0..1 for imshow."""
    x = x.detach().float().cpu().clamp(0, 1)
    if x.dim() == 2:
        side = int(round(x.shape[1] ** 0.5))
        x = x.reshape(len(x), 1, side, side)
    if x.shape[1] == 1:
        return x[:, 0].numpy()
    return x.permute(0, 2, 3, 1).numpy()


def image_rows(rows: dict[str, torch.Tensor], title: str, path: Path) -> Path:
    """One row of images per entry (same examples in each column)."""
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n + 1.5, 1.2 * len(rows) + 0.6), squeeze=False)
    for r, (label, imgs) in enumerate(rows.items()):
        disp = _as_display(imgs)
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(disp):
                ax.imshow(disp[c], cmap="gray" if disp[c].ndim == 2 else None, vmin=0, vmax=1)
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    return save(fig, path)


def code_scatter(code: np.ndarray, labels: np.ndarray | None, title: str, path: Path) -> Path:
    if code.shape[1] == 2:
        xy, axes_names = code, ("code 1", "code 2")
    else:
        xy = PCA(n_components=2, random_state=0).fit_transform(code)
        axes_names = ("code PC 1", "code PC 2")
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=labels if labels is not None else "tab:blue", cmap="tab10", s=6)
    if labels is not None:
        fig.colorbar(sc, ax=ax, label="class")
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    ax.set_title(title)
    return save(fig, path)


def latent_map(model: torch.nn.Module, title: str, path: Path, steps: int = 15) -> Path:
    """Decoder means over a grid of z in [-3, 3]^2 (a 2-D latent space only)."""
    grid = torch.linspace(-3, 3, steps)
    zy, zx = torch.meshgrid(grid.flip(0), grid, indexing="ij")
    z = torch.stack([zx.reshape(-1), zy.reshape(-1)], dim=1).to(next(model.parameters()).device)
    model.eval()
    with torch.no_grad():
        imgs = _as_display(model.decode(z))
    h, w = imgs.shape[1:3]
    canvas = imgs.reshape(steps, steps, h, w).transpose(0, 2, 1, 3).reshape(steps * h, steps * w)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(canvas, cmap="gray", extent=(-3, 3, -3, 3))
    ax.set_xlabel("z 1")
    ax.set_ylabel("z 2")
    ax.set_title(title)
    return save(fig, path)


def error_histogram(errors: np.ndarray, anomaly: np.ndarray, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.histogram_bin_edges(errors, bins=50)
    ax.hist(errors[anomaly == 0], bins=bins, alpha=0.6, label="normal", density=True)
    ax.hist(errors[anomaly == 1], bins=bins, alpha=0.6, label="anomaly", density=True)
    ax.set_xlabel("reconstruction error (MSE per example)")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend()
    return save(fig, path)


def plots_for_run(run_dir: Path, results: dict[str, Any], n_show: int = 10) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for name, r in results.items():
        suffix = f"_{name}" if len(results) > 1 else ""
        test = r.bundle.test
        outputs = predict_outputs(r.model, test.x)
        image_like = test.y.dim() == 4 or int(round(test.y[0].numel() ** 0.5)) ** 2 == test.y[0].numel()
        if image_like:
            rows = {"original": test.y[:n_show]}
            if test.x.shape != test.y.shape or not torch.equal(test.x, test.y):
                rows["model input"] = test.x[:n_show]
            rows["reconstruction"] = outputs.recon[:n_show]
            f = f"plots/reconstructions{suffix}.png"
            image_rows(rows, f"Test images and their reconstructions ({name})", run_dir / f)
            out.append({"file": f, "caption": f"Original / model input / reconstruction, test split: {name}"})
        labels = getattr(test, "labels", None)
        code = outputs.code.float().cpu().numpy()
        if code.shape[1] >= 2:
            f = f"plots/code_space{suffix}.png"
            lab = labels.cpu().numpy() if labels is not None else None
            code_scatter(code, lab, f"Code space of the test split, coloured by class ({name})", run_dir / f)
            out.append({"file": f, "caption": f"Test codes in 2-D coloured by class: {name}"})
        anomaly = getattr(test, "anomaly", None)
        if anomaly is not None:
            err = per_example_error(outputs.recon.cpu(), test.y.cpu()).numpy()
            f = f"plots/anomaly_scores{suffix}.png"
            error_histogram(
                err, anomaly.cpu().numpy(), f"Reconstruction error: normal vs anomaly ({name})", run_dir / f
            )
            out.append({"file": f, "caption": f"Anomaly scores (reconstruction error) by true kind: {name}"})
        if hasattr(r.model, "sample") and image_like:  # a VAE: samples and latent maps
            out += _vae_plots(run_dir, name, suffix, r.model, test)
    return out


def _vae_plots(run_dir: Path, name: str, suffix: str, model: Any, test: Any) -> list[dict[str, str]]:
    out = []
    gen = torch.Generator().manual_seed(0)
    samples = model.sample(40, generator=gen)
    f = f"plots/samples{suffix}.png"
    image_rows(
        {f"row {i + 1}": samples[i * 10 : (i + 1) * 10] for i in range(4)},
        f"New images decoded from z ~ N(0, I) ({name})",
        run_dir / f,
    )
    out.append({"file": f, "caption": f"Samples from the prior: {name}"})
    model.eval()
    with torch.no_grad():
        device = next(model.parameters()).device
        mu, _ = model.encode(test.x[:8].to(device))
        t = torch.linspace(0, 1, 10, device=device)[:, None]
        rows = {}
        for i in range(4):  # pairs (0,1), (2,3), ...: interpolate between their means
            z = (1 - t) * mu[2 * i] + t * mu[2 * i + 1]
            rows[f"pair {i + 1}"] = model.decode(z)
    f = f"plots/interpolations{suffix}.png"
    image_rows(rows, f"Latent-space interpolation between test images ({name})", run_dir / f)
    out.append({"file": f, "caption": f"Linear interpolation between two test images' latent means: {name}"})
    if model.latent == 2:
        f = f"plots/latent_map{suffix}.png"
        latent_map(model, f"Decoded latent space, z in [-3, 3]^2 ({name})", run_dir / f)
        out.append({"file": f, "caption": f"Latent map: the decoder over a 2-D grid of z: {name}"})
    return out
