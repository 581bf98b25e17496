"""What a classification run adds to its journal entry: baselines (majority class, stratified
guess, logistic regression, boosted trees), the decision threshold chosen on validation and
Monte-Carlo dropout (binary / dropout models), confusion matrices, ROC / precision-recall /
reliability curves, misclassified images, and the 2-D decision boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal.evaluation import details
from nnjournal.evaluation.baselines import baseline_proba, run_baselines
from nnjournal.evaluation.metrics import confusion
from nnjournal.journal import plots
from nnjournal.regularization.mc_dropout import mc_dropout_report
from nnjournal.training.predict import predict_outputs


def baselines(bundle: Any, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return run_baselines(bundle, True, cfg.evaluation.baselines, cfg.seed)


def finish(task: Any, result: Any, cfg: Any) -> None:
    """Test predictions (computed once), the decision threshold, Monte-Carlo dropout."""
    result.test_pred = task.predict(predict_outputs(result.model, result.bundle.test.x))
    result.threshold = details.pick_threshold(cfg, result.model, task, result.bundle)
    if cfg.evaluation.mc_dropout:
        result.mc_dropout = mc_dropout_report(
            result.model, result.bundle.test, cfg.evaluation.mc_dropout, cfg.seed
        )


def summary_extras(task: Any, r: Any) -> dict[str, Any]:
    y = r.bundle.test.y.cpu().numpy()
    out: dict[str, Any] = {"confusion": confusion(y, r.test_pred, r.bundle.info.n_classes).tolist()}
    if task.binary:
        out["binary"] = details.binary_details(r.model, task, r.bundle, r.threshold)
    if r.mc_dropout is not None:
        out["mc_dropout"] = {k: v for k, v in r.mc_dropout.items() if k not in ("entropy", "correct")}
    return out


def plots_for_variant(run_dir: Path, name: str, suffix: str, r: Any, fitted: dict[str, Any]) -> list[dict[str, str]]:
    info = r.bundle.info
    out = []
    cm = confusion(r.bundle.test.y.cpu().numpy(), r.test_pred, info.n_classes)
    f = f"plots/confusion{suffix}.png"
    plots.confusion_matrix(
        cm,
        info.class_names or [str(i) for i in range(info.n_classes)],
        f"Confusion matrix on the test split ({name})",
        run_dir / f,
    )
    out.append({"file": f, "caption": f"Confusion matrix, test split: {name}"})
    if r.task.binary:
        out += binary_plots(run_dir, name, r, fitted, suffix)
    if info.is_image:
        from nnjournal.journal import image_plots

        out += image_plots.write_all(run_dir, name, suffix, r.model, r.task, r.bundle)
    if r.mc_dropout is not None:
        from nnjournal.journal import study_plots

        f = f"plots/mc_dropout{suffix}.png"
        study_plots.mc_dropout_uncertainty(r.mc_dropout["entropy"], r.mc_dropout["correct"], run_dir / f)
        out.append(
            {
                "file": f,
                "caption": f"Monte-Carlo dropout ({r.mc_dropout['samples']} passes): predictive "
                f"uncertainty on the test split, right vs wrong answers: {name}",
            }
        )
    return out


def report_plots(run_dir: Path, results: dict[str, Any], context: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    fitted = context.get("fitted_baselines", {})
    for name, r in results.items():
        suffix = f"_{name}" if len(results) > 1 else ""
        out += plots_for_variant(run_dir, name, suffix, r, fitted)
    first = next(iter(results.values()))
    if first.bundle.info.input_shape == (2,) and first.bundle.info.n_classes == 2:
        panels = {n: _proba_fn(r) for n, r in results.items()}
        x, y = first.bundle.train.x.cpu().numpy(), first.bundle.train.y.cpu().numpy()
        plots.decision_boundaries(panels, x, y, run_dir / "plots" / "decision_boundary.png")
        out.append(
            {
                "file": "plots/decision_boundary.png",
                "caption": "Decision boundary of each model over the input plane",
            }
        )
    return out


def _proba_fn(r: Any):
    def fn(grid: np.ndarray) -> np.ndarray:
        return r.task.proba(predict_outputs(r.model, torch.from_numpy(grid)))[:, 1]

    return fn


def binary_plots(
    run_dir: Path, name: str, r: Any, fitted_baselines: dict[str, Any], suffix: str
) -> list[dict[str, str]]:
    """ROC, precision-recall and reliability curves (network and its probabilistic
    baselines), the threshold trade-off on validation, and the confusion matrix at the
    chosen threshold."""
    out = []
    y = r.bundle.test.y.cpu().numpy()
    x_test = r.bundle.test.x.cpu().reshape(len(r.bundle.test), -1).numpy()
    curves = {name: details.positive_proba(r.model, r.task, r.bundle.test.x)}
    for b_name, model in fitted_baselines.items():
        if b_name in ("logistic regression", "boosted trees"):
            curves[b_name] = baseline_proba(model, x_test, 2)[:, 1]
    positive = (r.bundle.info.class_names or ["0", "1"])[1]
    for kind, caption in (
        ("roc", "ROC curves on the test split, AUC in the legend"),
        (
            "pr",
            f"Precision-recall curves on the test split (positive class {positive!r}), average precision in the legend",
        ),
        ("calibration", "Reliability: observed positive rate against predicted probability (test split)"),
    ):
        f = f"plots/{kind}{suffix}.png"
        getattr(plots, f"{kind}_curves")(y, curves, run_dir / f)
        out.append({"file": f, "caption": caption})
    split = r.bundle.val if r.bundle.val is not None and len(r.bundle.val) else r.bundle.train
    chosen = r.threshold["value"] if r.threshold else None
    f = f"plots/threshold{suffix}.png"
    plots.threshold_tradeoff(
        split.y.cpu().numpy(), details.positive_proba(r.model, r.task, split.x), chosen, run_dir / f
    )
    out.append(
        {"file": f, "caption": "Precision, recall and F1 against the decision threshold (validation split)"}
    )
    if r.threshold:
        cm = np.asarray(
            details.binary_details(r.model, r.task, r.bundle, r.threshold)["at_threshold"]["confusion"]
        )
        f = f"plots/confusion_threshold{suffix}.png"
        plots.confusion_matrix(
            cm,
            r.bundle.info.class_names or ["0", "1"],
            f"Test confusion matrix at threshold {chosen:.3f} ({name})",
            run_dir / f,
        )
        out.append(
            {
                "file": f,
                "caption": f"Confusion matrix at the threshold chosen for {r.threshold['objective']}: {name}",
            }
        )
    return out


def conclusion(summary: dict[str, Any]) -> list[str]:
    """Sentences on the decision threshold and Monte-Carlo dropout, from the summary's numbers."""
    lines = []
    for name, v in summary["variants"].items():
        b = v.get("binary")
        if b and "at_threshold" in b:
            t, pos = b["threshold"], (summary["data"].get("class_names") or ["0", "1"])[1]
            at, base = b["at_threshold"]["per_class"][pos], b["at_0.5"]["per_class"][pos]
            lines.append(
                f"{name}: the threshold {t['value']:.3f} chosen on the {t['chosen_on']} split for "
                f"{t['objective'].replace('_', ' ')} gives test recall {at['recall']:.3f} and precision "
                f"{at['precision']:.3f} for {pos!r} (at 0.5: recall {base['recall']:.3f}, precision {base['precision']:.3f})."
            )
    for name, v in summary["variants"].items():
        mc = v.get("mc_dropout")
        if mc:
            lines.append(
                f"{name}: Monte-Carlo dropout ({mc['samples']} passes) has test accuracy {mc['accuracy']:.4f} "
                f"(one deterministic pass: {mc['deterministic_accuracy']:.4f}); mean predictive entropy "
                f"{mc['entropy_correct']:.3f} nats on right answers vs {mc['entropy_wrong']:.3f} on wrong ones"
                + (
                    ": it is least sure where it errs."
                    if mc["entropy_wrong"] > mc["entropy_correct"]
                    else "."
                )
            )
    return lines
