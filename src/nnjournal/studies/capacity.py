"""The capacity study (curriculum §1: capacity, underfitting, overfitting, bias and variance):
the classic picture drawn from real runs. One hidden layer of growing width on a small
training set, trained for a fixed number of epochs; training and test error against width,
one line family per L2 strength, the test curve's minimum marked; and error against training
time for a few widths (the other axis of capacity)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from nnjournal import data as data_mod
from nnjournal.config import RunConfig
from nnjournal.data.bundle import DataBundle
from nnjournal.journal import study_plots
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.studies.common import (
    default_workers,
    error,
    load_task,
    mean_std,
    study_setting,
    subsample,
    train_settings,
    with_overrides,
    write_study,
)
from nnjournal.tasks import task_class

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"seeds": 1, "train_size": 150, "epochs": 60, "widths": [2, 8, 32, 128, 512], "l2": [0.0, 1e-2]},
    "default": {
        "seeds": 2,
        "train_size": 150,
        "epochs": 150,
        "widths": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
        "l2": [0.0, 1e-3, 1e-2],
    },
}


def run_capacity(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    seeds = list(range(study_setting(cfg, "seeds", PROFILES)))
    widths = sorted(study_setting(cfg, "widths", PROFILES))
    strengths = study_setting(cfg, "l2", PROFILES)
    epochs = study_setting(cfg, "epochs", PROFILES)
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)  # bad data: no run directory
    run_dir = create_run_dir(out, cfg.recipe)
    bundle = DataBundle(
        subsample(bundle.train, study_setting(cfg, "train_size", PROFILES), cfg.seed),
        bundle.val,
        bundle.test,
        bundle.info,
        bundle.preprocessing,
    )
    task = load_task(cfg, bundle)

    lines: dict[str, tuple[list[float], list[float]]] = {}
    over_time: dict[str, tuple[list[float], list[float]]] = {}
    table, results = [], {}

    def label_of(l2: float) -> str:
        return f"L2 {l2:g}" if l2 else "no L2"

    settings = {
        f"{label_of(l2)}, width {width}": with_overrides(
            cfg,
            {
                "model": {"hidden": [width]},
                "training": {
                    "epochs": epochs,
                    "penalty": {"l2": l2},
                    "early_stopping": {"restore_best": False},
                },
            },
        )
        for l2 in strengths
        for width in widths
    }
    trained = train_settings(settings, bundle, task, seeds, cfg.study.workers or default_workers())
    for l2 in strengths:
        label = label_of(l2)
        train_curve, test_curve = [], []
        for width in widths:
            _, r = next(trained)  # settings come back in the order above
            tr = mean_std([error(m, bundle.train, task) for m in r.models])[0]
            te = mean_std([error(m, bundle.test, task) for m in r.models])[0]
            train_curve.append(tr)
            test_curve.append(te)
            results[f"{label}, width {width}"] = {"train_error": tr, "test_error": te}
            table.append([label, str(width), f"{tr:.3f}", f"{te:.3f}", f"{te - tr:.3f}", f"{r.wall_s:.1f}"])
            if l2 == strengths[0] and width in _epoch_widths(widths):
                hs = [h for group in r.histories for h in group]
                over_time[f"width {width}"] = (
                    list(np.mean([[1 - x["train_accuracy"] for x in h.records] for h in hs], 0)),
                    list(np.mean([[1 - x["val_accuracy"] for x in h.records] for h in hs], 0)),
                )
            if not quiet:
                print(f"  {label:8s} width {width:5d}: train {tr:.3f} test {te:.3f}", flush=True)  # noqa: T201
        lines[label] = (train_curve, test_curve)

    pdir = run_dir / "plots"
    study_plots.capacity_curves(widths, lines, pdir / "capacity.png")
    study_plots.error_vs_epochs(over_time, pdir / "epochs.png")
    plots = [
        {
            "file": "plots/capacity.png",
            "caption": "Train and test error against hidden width, per L2 strength",
        },
        {"file": "plots/epochs.png", "caption": "Train and validation error against epochs for three widths"},
    ]
    minima = {label: (widths[int(np.argmin(test))], float(min(test))) for label, (_, test) in lines.items()}
    conclusion = []
    for label, (train, test) in lines.items():
        w, best = minima[label]
        conclusion.append(
            f"{label}: train error falls from {train[0]:.3f} (width {widths[0]}) to {train[-1]:.3f} (width "
            f"{widths[-1]}); test error is lowest, {best:.3f}, at width {w}"
            + (
                f", and {test[-1]:.3f} at the widest: {'it rises again past the minimum (overfitting)' if test[-1] > best + 0.005 else 'wider stays about as good (no U on this data)'}."
                if w != widths[-1]
                else ", the widest model tried."
            )
        )
    conclusion.append(
        f"Underfitting at the narrow end: width {widths[0]} has train error {lines[next(iter(lines))][0][0]:.3f}."
    )
    blocks = [
        ("h2", "What was run"),
        (
            "ul",
            [
                f"Data: {bundle.describe()} (training split cut to {len(bundle.train)} examples, stratified).",
                f"Model: one hidden layer of width {widths}; {epochs} epochs, last epoch kept, "
                f"{cfg.training.optimizer.name} lr {cfg.training.optimizer.lr:g}, batch {cfg.training.batch_size}.",
                f"L2 strengths: {strengths}; {len(seeds)} seed(s) each, errors averaged.",
            ],
        ),
        ("h2", "Results"),
        ("table", ["L2", "width", "train error", "test error", "gap", "wall s"], table),
    ]
    label0 = next(iter(lines))
    headline = {
        "metric": "test_error",
        "variant": f"{label0}, width {minima[label0][0]}",
        "value": minima[label0][1],
    }
    return write_study(
        cfg,
        out,
        started=started,
        elapsed=time.perf_counter() - t0,
        headline=headline,
        rows={k: {"test_error": v["test_error"]} for k, v in results.items()},
        blocks=blocks,
        plots=plots,
        conclusion=conclusion,
        details={"results": results, "minima": minima, "widths": widths},
        run_dir=run_dir,
    )


def _epoch_widths(widths: list[int]) -> list[int]:
    """Narrow, middle and widest: three capacities for the error-vs-epochs figure."""
    return sorted({widths[0], widths[len(widths) // 2], widths[-1]})
