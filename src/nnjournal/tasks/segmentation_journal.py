"""What a segmentation run adds to its journal entry: the classical baselines on the test
scenes (Otsu's threshold per image, the best global threshold on the training scenes, all
background, logistic regression on 7x7 patches), a figure of scenes with their true and
predicted masks, and sentences comparing the network's IoU with thresholding's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal.data.bundle import DataBundle
from nnjournal.evaluation.segmentation import PatchLogistic, best_threshold, mask_metrics, otsu_masks
from nnjournal.training.predict import predict_outputs

SHOWN = 8  # test scenes in the figure
OTSU = "Otsu threshold per image"
LOGISTIC = "logistic regression on 7x7 patches"


def _arrays(split: Any) -> tuple[np.ndarray, np.ndarray]:
    return split.x.cpu().numpy(), split.y.cpu().numpy()


def baselines(bundle: DataBundle, n_classes: int, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """({"threshold": t}, {baseline name: test metrics}). Thresholds give digit / background
    only, so with semantic classes they are scored on digit IoU alone."""
    x_tr, y_tr = _arrays(bundle.train)
    x_te, y_te = _arrays(bundle.test)
    truth = torch.from_numpy(y_te)

    def scored(pred: np.ndarray, binary: bool) -> dict[str, float]:
        if binary and n_classes > 2:
            return {"digit_iou": mask_metrics(torch.from_numpy(pred), truth > 0, 2)["digit_iou"]}
        return mask_metrics(torch.from_numpy(pred), truth, n_classes)

    t = best_threshold(x_tr, y_tr)
    out = {
        OTSU: scored(otsu_masks(x_te), binary=True),
        f"global threshold {t / 255:.2f} (best on train)": scored(
            (x_te[:, 0] > t).astype(np.uint8), binary=True
        ),
    }
    wanted = cfg.evaluation.baselines
    if "linear" in wanted:
        out[LOGISTIC] = scored(PatchLogistic(cfg.seed).fit(x_tr, y_tr).predict(x_te), binary=False)
    if "dummy" in wanted:
        out["all background"] = scored(np.zeros_like(y_te), binary=False)
    return {"threshold": t}, out


def plots(run_dir: Path, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
    """Input, true mask, each model's predicted mask and Otsu's, for the first test scenes."""
    from nnjournal.journal.autoencoder_plots import image_rows

    first = next(iter(results.values()))
    test = first.bundle.test
    x = test.x[:SHOWN].cpu()
    scale = max(first.task.n_classes - 1, 1)  # class ids -> grey levels 0..1
    rows = {"input": x.float() / 255, "true mask": test.y[:SHOWN].cpu().float()[:, None] / scale}
    for name, r in results.items():
        pred = predict_outputs(r.model, x).argmax(dim=1)
        rows[name if len(results) > 1 else "predicted"] = pred.float()[:, None] / scale
    rows["Otsu"] = torch.from_numpy(otsu_masks(x.numpy())).float()[:, None]
    path = image_rows(
        rows, "Test scenes: input, true mask, predicted masks", run_dir / "plots" / "segmentation.png"
    )
    return [
        {
            "file": str(path.relative_to(run_dir)),
            "caption": "Test scenes (digits never seen in training), their exact masks, the network's masks and "
            "Otsu's threshold",
        }
    ]


def conclusion(summary: dict[str, Any]) -> list[str]:
    """Each model's digit IoU and mIoU beside the best thresholding baseline's; the decoders
    compared when a recipe trains more than one."""
    lines: list[str] = []
    baselines: dict[str, Any] = summary.get("baselines") or {}
    thresholds = {n: b for n, b in baselines.items() if "threshold" in n.lower() and "digit_iou" in b}
    if not thresholds:
        return lines
    b_name = max(thresholds, key=lambda n: thresholds[n]["digit_iou"])
    b = thresholds[b_name]
    for name, v in summary["variants"].items():
        t = v["test"]
        gain = t["digit_iou"] - b["digit_iou"]
        lines.append(
            f"{name} finds the digits of the unseen test scenes at digit IoU {t['digit_iou']:.3f} (mIoU "
            f"{t['miou']:.3f}); the best thresholding, {b_name}, reaches {b['digit_iou']:.3f}"
            + (f" (mIoU {b['miou']:.3f})" if "miou" in b else "")
            + f": {abs(gain):.3f} {'higher' if gain > 0 else 'lower'}"
            + (", since shape, not brightness, tells a digit from the clutter." if gain > 0 else ".")
        )
    if len(summary["variants"]) > 1:
        ranked = sorted(summary["variants"].items(), key=lambda kv: -kv[1]["test"]["digit_iou"])
        lines.append(
            "Digit IoU by model, best first: "
            + ", ".join(f"{n} {v['test']['digit_iou']:.3f} ({v['n_params']:,} parameters)" for n, v in ranked)
            + "."
        )
    return lines
