"""Gradient-descent regimes and optimizers (curriculum §1): batch GD (the whole training set
per step), stochastic GD (one example per step) and mini-batch GD on the same problem, then
SGD, momentum, Nesterov, AdaGrad, Adadelta, RMSProp and Adam with mini-batches. Each is drawn
as training loss against optimizer steps and against wall time: batch GD takes the fewest,
most accurate steps; stochastic GD the most, noisiest and cheapest ones."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnjournal import data as data_mod
from nnjournal.config import RunConfig
from nnjournal.journal import study_plots
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.studies.common import error, load_task, study_setting, with_overrides, write_study
from nnjournal.tasks import task_class
from nnjournal.training.trainers import train_one

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"seeds": 1, "epochs": 4},
    "default": {"seeds": 1, "epochs": 30},
}

# name -> (regime, optimizer section). Learning rates are each method's usual starting point;
# the regimes share plain SGD so that only the batch size differs between them.
REGIMES: dict[str, tuple[str, dict[str, Any]]] = {
    "batch GD": ("batch", {"name": "sgd", "lr": 0.05}),
    "mini-batch GD": ("minibatch", {"name": "sgd", "lr": 0.05}),
    "stochastic GD": ("stochastic", {"name": "sgd", "lr": 0.05}),
}
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "SGD": {"name": "sgd", "lr": 0.05},
    "momentum": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "Nesterov": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
    "AdaGrad": {"name": "adagrad", "lr": 0.05},
    "Adadelta": {"name": "adadelta", "lr": 1.0},
    "RMSProp": {"name": "rmsprop", "lr": 0.001},
    "Adam": {"name": "adam", "lr": 0.001},
}


def run_gd_regimes(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    epochs = study_setting(cfg, "epochs", PROFILES)
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    task = load_task(cfg, bundle)
    run_dir = create_run_dir(out, cfg.recipe)  # after the checks: bad input leaves no directory
    batch = cfg.training.batch_size

    settings = {name: (regime, opt) for name, (regime, opt) in REGIMES.items()}
    settings.update({name: ("minibatch", opt) for name, opt in OPTIMIZERS.items()})
    curves: dict[str, tuple[list[int], list[float], list[float]]] = {}
    results: dict[str, dict[str, float]] = {}
    table = []
    for name, (regime, opt) in settings.items():
        partial = {
            "training": {
                "epochs": epochs,
                "regime": regime,
                "optimizer": opt,
                "schedule": {"name": "none"},
                "early_stopping": {"patience": None, "restore_best": False},
            }
        }
        setting = with_overrides(cfg, partial)
        model, history = train_one(setting, bundle, task, seed=cfg.seed)
        n = len(bundle.train)
        per_epoch = {"batch": 1, "stochastic": n}.get(regime, math.ceil(n / batch))
        recs = history.records
        steps = [per_epoch * r["epoch"] for r in recs]
        seconds = [sum(r["time_s"] for r in recs[: i + 1]) for i in range(len(recs))]
        losses = [r["train_loss"] for r in recs]
        curves[name] = (steps, seconds, losses)
        test_error = error(model, bundle.test, task)
        results[name] = {
            "train_loss": losses[-1],
            "val_loss": recs[-1]["val_loss"],
            "test_error": test_error,
            "steps": steps[-1],
            "wall_s": seconds[-1],
        }
        table.append(
            [
                name,
                _describe(regime, opt, batch),
                str(steps[-1]),
                f"{losses[-1]:.4f}",
                f"{recs[-1]['val_loss']:.4f}",
                f"{test_error:.3f}",
                f"{seconds[-1]:.2f}",
            ]
        )
        if not quiet:
            print(f"  {name:14s} loss {losses[-1]:.4f}  test error {test_error:.3f}", flush=True)  # noqa: T201

    pdir = run_dir / "plots"
    regime_curves = {k: curves[k] for k in REGIMES}
    optimizer_curves = {k: curves[k] for k in OPTIMIZERS}
    study_plots.loss_vs_steps_and_time(
        regime_curves, "Batch vs mini-batch vs stochastic GD (plain SGD)", pdir / "regimes.png"
    )
    study_plots.loss_vs_steps_and_time(
        optimizer_curves, f"Optimizers with mini-batches of {batch}", pdir / "optimizers.png"
    )
    plots = [
        {
            "file": "plots/regimes.png",
            "caption": "Gradient-descent regimes: loss against steps and wall time",
        },
        {"file": "plots/optimizers.png", "caption": "Optimizers: loss against steps and wall time"},
    ]
    blocks = [
        ("h2", "What was run"),
        (
            "ul",
            [
                f"Data: {bundle.describe()}.",
                f"Model: {setting.model.name} {getattr(setting.model, 'hidden', '')}; {epochs} epochs per setting, "
                f"seed {cfg.seed}, no schedule, last epoch kept.",
                "Regimes share plain SGD (lr 0.05) so that only the examples per step differ; optimizers use "
                f"mini-batches of {batch} and each method's usual learning rate.",
            ],
        ),
        ("h2", "Results"),
        ("table", ["setting", "how", "steps", "final train loss", "val loss", "test error", "wall s"], table),
    ]
    best = min(OPTIMIZERS, key=lambda k: results[k]["val_loss"])
    conclusion = _conclusion(results, best, epochs)
    headline = {"metric": "val_loss", "variant": best, "value": results[best]["val_loss"]}
    return write_study(
        cfg,
        out,
        started=started,
        elapsed=time.perf_counter() - t0,
        headline=headline,
        rows={k: {"val_loss": v["val_loss"], "test_error": v["test_error"]} for k, v in results.items()},
        blocks=blocks,
        plots=plots,
        conclusion=conclusion,
        details={"results": results, "epochs": epochs},
        run_dir=run_dir,
    )


def _describe(regime: str, opt: dict[str, Any], batch: int) -> str:
    size = {"batch": "whole set", "stochastic": "1 example"}.get(regime, f"{batch} examples")
    extra = "".join(f", {k} {v}" for k, v in opt.items() if k not in ("name", "lr"))
    return f"{opt['name']} lr {opt['lr']:g}{extra}; {size} per step"


def _conclusion(results: dict[str, dict[str, float]], best: str, epochs: int) -> list[str]:
    b, m, s = (results[k] for k in REGIMES)
    lines = [
        f"In {epochs} epochs batch GD took {b['steps']} steps and reached training loss {b['train_loss']:.3f}; "
        f"mini-batch GD took {m['steps']} steps to {m['train_loss']:.3f} and stochastic GD {s['steps']} steps "
        f"to {s['train_loss']:.3f}.",
        f"Wall time for the same {epochs} epochs: batch GD {b['wall_s']:.2f} s, mini-batch {m['wall_s']:.2f} s, "
        f"stochastic {s['wall_s']:.2f} s; "
        + (
            "stochastic steps are the most expensive per epoch here (one Python step per example)."
            if s["wall_s"] > m["wall_s"]
            else "stochastic GD was not slower per epoch here."
        ),
    ]
    lines.append(
        "Mini-batch GD and SGD are the same setting (plain SGD, batches of the recipe's size): the "
        "optimizer comparison starts from it."
    )
    ranked = sorted(OPTIMIZERS, key=lambda k: results[k]["val_loss"])
    lines.append(
        "Optimizers by final validation loss: "
        + ", ".join(f"{k} {results[k]['val_loss']:.3f}" for k in ranked)
        + f". {best} is best on this problem with these learning rates."
    )
    return lines
