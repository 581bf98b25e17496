"""The image part of a journal entry: which test images the model got wrong, accuracy per
class, what the first convolution layer learned, and what its layers see in one image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nnjournal.data.bundle import DataBundle
from nnjournal.evaluation.metrics import confusion
from nnjournal.journal import plots
from nnjournal.models.cnn import TiledConv2d
from nnjournal.training.predict import predict_outputs


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    """The first ordinary or tiled convolution (its weights are what the input meets first)."""
    for module in model.modules():
        if isinstance(module, TiledConv2d):
            return module.conv
        if isinstance(module, nn.Conv2d):
            return module
    return None


@torch.no_grad()
def block_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Each conv block's output (C, H, W) for one image `x` (1, C, H, W), in forward order."""
    features = next((m.features for m in model.modules() if hasattr(m, "features")), None)
    if not isinstance(features, nn.Sequential):
        return {}
    maps: dict[str, np.ndarray] = {}
    hooks = [
        block.register_forward_hook(
            lambda mod, args, out, i=i: maps.__setitem__(f"block {i}", out[0].detach().cpu().float().numpy())
        )
        for i, block in enumerate(features)
    ]
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return maps


def write_all(
    run_dir: Path, name: str, suffix: str, model: nn.Module, task: Any, bundle: DataBundle
) -> list[dict[str, str]]:
    info = bundle.info
    names = info.class_names or [str(i) for i in range(info.n_classes or 0)]
    test = bundle.test
    images = test.x.cpu().numpy()
    y = test.y.cpu().numpy()
    pred = task.predict(predict_outputs(model, test.x))
    if images.dtype != np.uint8:  # float images (e.g. .npz arrays): stretch to 0..255 for display
        lo, hi = float(images.min()), float(images.max())
        images = ((images - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)
    out = []
    wrong = np.flatnonzero(pred != y)
    f = f"plots/misclassified{suffix}.png"
    plots.misclassified_grid(
        images[wrong],
        y[wrong],
        pred[wrong],
        names,
        f"Misclassified test images ({len(wrong)} of {len(y)}), {name}",
        run_dir / f,
    )
    out.append({"file": f, "caption": f"Misclassified test images with true and predicted class: {name}"})
    f = f"plots/per_class_accuracy{suffix}.png"
    cm = confusion(y, pred, info.n_classes)
    plots.per_class_accuracy(cm, names, f"Accuracy per class on the test split ({name})", run_dir / f)
    out.append({"file": f, "caption": f"Per-class test accuracy: {name}"})
    conv = first_conv(model)
    if conv is not None:
        f = f"plots/first_layer_filters{suffix}.png"
        weights = conv.weight.detach().cpu().float().numpy()
        k = weights.shape[-1]
        plots.conv_filters(weights, f"Learned first-layer {k}x{k} kernels ({name})", run_dir / f)
        out.append({"file": f, "caption": f"First convolution layer's learned kernels: {name}"})
        device = next(model.parameters()).device
        maps = block_outputs(model, test.x[:1].to(device))
        if maps:
            f = f"plots/feature_maps{suffix}.png"
            plots.feature_maps(
                images[0],
                maps,
                f"Feature maps of each conv block for one test image (class {names[y[0]]}), {name}",
                run_dir / f,
            )
            out.append({"file": f, "caption": f"Feature maps for one test image, block by block: {name}"})
    return out
