"""A run's journal entry from its trained variants: summary.json (metrics next to baselines),
plots, the conclusion, report.md/html and the index of runs. What is specific to a task
(its baselines, figures, sentences, summary entries) comes from the task's own hooks; what is
here applies to every run (learning curves, the comparison bars, ensembles, column
importance, gradient norms, cross-validation)."""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nnjournal
from nnjournal import models
from nnjournal.debugging.symmetry import symmetric_layers
from nnjournal.files import atomic_write_json
from nnjournal.journal import plots
from nnjournal.journal.conclusion import write_conclusion
from nnjournal.journal.describe import describe_model, describe_training
from nnjournal.journal.report import render_report
from nnjournal.journal.site import write_index
from nnjournal.regularization.penalties import near_zero_fraction
from nnjournal.training.seeding import select_device


def write_entry(
    run_dir: Path, cfg: Any, results: dict[str, Any], started: str, t0: float, cross_validation: Any = None
) -> dict[str, Any]:
    """Everything after training: baselines, summary, plots, conclusion, report. summary.json
    is written last but one (before the report), so its presence marks a finished run."""
    first = next(iter(results.values()))
    fitted_baselines, baselines = first.task.baselines(first.bundle, cfg)  # the base recipe's
    summary = build_summary(cfg, results, baselines, started, time.perf_counter() - t0)
    if cross_validation is not None:
        summary["cross_validation"] = cross_validation(first)
    if cfg.journal.plots:
        summary["plots"] = run_plots(run_dir, results, baselines, summary["headline"]["metric"])
        summary["plots"] += first.task.plots(run_dir, results, {"fitted_baselines": fitted_baselines})
    summary["conclusion"] = write_conclusion(summary) + first.task.conclusion(summary) + run_conclusion(summary)
    summary["timings"]["total_s"] = time.perf_counter() - t0
    atomic_write_json(run_dir / "summary.json", summary)  # marks the run finished
    render_report(run_dir)
    write_index(run_dir.parent)
    return summary


def build_summary(
    cfg: Any, results: dict[str, Any], baselines: dict[str, Any], started: str, elapsed: float
) -> dict[str, Any]:
    first = next(iter(results.values()))
    task = first.task
    metric = task.headline
    variants = {}
    for name, r in results.items():
        entry: dict[str, Any] = {
            "model": describe_model(r.config, r.task),
            "n_params": models.count_parameters(r.model),
            "training": (getattr(r.task, "describe_training", None) or describe_training)(r.config, r.history),
            "history": r.history.to_dict(),
            "near_zero_weight_fraction": near_zero_fraction(r.model),
            **r.metrics,
            **r.task.summary_extras(r),
        }
        symmetric = symmetric_layers(r.model)  # issue 15: zero init never breaks the symmetry
        if symmetric:
            entry["symmetric_layers"] = symmetric
        if r.importance is not None:
            entry["permutation_importance"] = r.importance
        if r.members_test:
            e = r.config.ensemble
            entry["ensemble"] = {
                "size": e.size,
                "method": e.method,
                "combine": e.combine,
                "members_test": r.members_test,
            }
        variants[name] = entry
    pick = min if task.directions[metric] == "min" else max
    best = pick(variants, key=lambda n: variants[n]["test"][metric])
    info = first.bundle.info
    return {
        "recipe": cfg.recipe,
        "title": cfg.journal.title,
        "aim": cfg.journal.aim,
        "seed": cfg.seed,
        "task": cfg.task.name,
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(select_device(cfg.training.device)),
        "data": {
            "description": first.bundle.describe() + f", input shape {list(info.input_shape)}",
            "notes": info.notes,
            "class_names": info.class_names,
            **split_facts(first.bundle),
        },
        "headline": {"metric": metric, "variant": best, "value": variants[best]["test"][metric]},
        "directions": dict(task.directions),
        "report_metrics": list(task.report_metrics),
        "variants": variants,
        "baselines": baselines,
        "learning_curves": learning_curves(results),
        "plots": [],
        "timings": {
            "total_s": elapsed,
            **{f"train_s.{n}": r.history.train_time_s for n, r in results.items()},
        },
        "versions": {
            "nnjournal": nnjournal.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }


def split_facts(bundle: Any) -> dict[str, Any]:
    """What the conclusion weighs differences and the headline by: rows per split and, for
    class labels, rows per class in each split."""
    splits = {n: s for n in ("train", "val", "test") if (s := getattr(bundle, n)) is not None and len(s)}
    out: dict[str, Any] = {"sizes": {n: len(s) for n, s in splits.items()}}
    k = bundle.info.n_classes
    ys = {n: s.y for n, s in splits.items() if isinstance(s.y, torch.Tensor)}
    if k and ys and all(y.dim() == 1 and not y.is_floating_point() for y in ys.values()):
        out["class_counts"] = {n: np.bincount(y.cpu().numpy(), minlength=k).tolist() for n, y in ys.items()}
    return out


def learning_curves(results: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    """Per variant, the training and validation loss of every epoch: what the conclusion judges
    over- and underfitting and a still-falling loss from (metrics.jsonl has the rest)."""
    curves = {}
    for name, r in results.items():
        c = {key: r.history.series(key) for key in ("train_loss", "val_loss")}
        if any(c.values()):
            curves[name] = {key: v for key, v in c.items() if v}
    return curves


def run_plots(
    run_dir: Path, results: dict[str, Any], baselines: dict[str, Any], metric: str
) -> list[dict[str, str]]:
    """The figures every run has: learning curves and the test comparison; per variant its
    column importance, ensemble members and gradient norms where it has them."""
    out = []
    pdir = run_dir / "plots"
    histories = {n: r.history.records for n, r in results.items()}
    best = {n: r.history.best_epoch if r.history.restored_best else None for n, r in results.items()}
    if any("train_loss" in r for recs in histories.values() for r in recs):  # a GAN plots its own game
        plots.learning_curves(histories, pdir / "curves.png", best)
        out.append({"file": "plots/curves.png", "caption": "Learning curves: train vs validation per epoch"})
    bars = {n: r.metrics["test"][metric] for n, r in results.items()}
    bars.update({f"baseline: {n}": v[metric] for n, v in baselines.items() if metric in v})
    plots.metric_bars(bars, metric, pdir / "comparison.png")
    out.append({"file": "plots/comparison.png", "caption": f"Test {metric} of each model and baseline"})
    for name, r in results.items():
        suffix = f"_{name}" if len(results) > 1 else ""
        if r.importance is not None:
            imp = r.importance
            f = f"plots/importance{suffix}.png"
            plots.permutation_importance(
                imp["columns"], imp["metric"], f"Permutation importance ({name})", run_dir / f
            )
            out.append(
                {"file": f, "caption": f"Drop in test {imp['metric']} when each column is shuffled: {name}"}
            )
        if r.members_test:
            f = f"plots/ensemble{suffix}.png"
            plots.ensemble_members(
                [m[metric] for m in r.members_test],
                r.metrics["test"][metric],
                metric,
                f"Ensemble members vs their combined prediction ({name})",
                run_dir / f,
            )
            out.append({"file": f, "caption": f"Each member's test {metric} and the ensemble's: {name}"})
        if r.history.records and "grad_norm" in r.history.records[0]:
            f = f"plots/grad_norms{suffix}.png"
            plots.grad_norms(r.history.records, f"Gradient norm per layer ({name})", run_dir / f)
            out.append({"file": f, "caption": f"Per-layer gradient norms: {name}"})
        if r.history.records and "activation_stats" in r.history.records[0]:  # training.log_activation_stats
            from nnjournal.journal.debug_plots import activation_stats_curves

            f = f"plots/activation_stats{suffix}.png"
            activation_stats_curves(r.history.records, f"Dead / saturated share per layer ({name})", run_dir / f)
            out.append({"file": f, "caption": f"Share of dead ReLU units / saturated sigmoid-tanh outputs per epoch: {name}"})
    return out


def run_conclusion(summary: dict[str, Any]) -> list[str]:
    """Sentences on column importance, ensembles and cross-validation, from the numbers."""
    lines = []
    headline = summary["headline"]["metric"]
    lower = summary["directions"][headline] == "min"
    for name, v in summary["variants"].items():
        imp = v.get("permutation_importance")
        if imp:
            top = [c for c, s in imp["columns"].items() if s["mean"] > 0][:3]
            if top:
                lines.append(
                    f"{name} relies most on {', '.join(top)} (permutation importance by {imp['metric']})."
                )
        e = v.get("ensemble")
        if e and headline in v["test"]:
            scores = [m[headline] for m in e["members_test"]]
            best = min(scores) if lower else max(scores)
            beats = v["test"][headline] < best if lower else v["test"][headline] > best
            lines.append(
                f"{name}: the ensemble of {e['size']} scores test {headline} {v['test'][headline]:.4f}; its "
                f"members {float(np.mean(scores)):.4f} ± {float(np.std(scores, ddof=1)):.4f} (best {best:.4f})"
                + (" — the combination beats every member." if beats else ".")
            )
    cv = summary.get("cross_validation")
    if cv:
        metric = next(
            (m for m in (headline, "roc_auc", "rmse") if all(m in s for s in cv["models"].values())), None
        )
        if metric and cv.get("scheme") == "loo":
            value = cv["models"]["network"][metric]["mean"]
            lines.append(
                f"Leave-one-out over {cv['examples']} examples: the network's {metric} on the held-out "
                f"predictions taken together is {value:.3f}."
            )
        elif metric:
            parts = [f"{n} {m[metric]['mean']:.3f} ± {m[metric]['std']:.3f}" for n, m in cv["models"].items()]
            lines.append(f"{cv['folds']}-fold cross-validation, {metric} mean ± std: {'; '.join(parts)}.")
    return lines
