"""Unfolding and gradients through time (curriculum §4): an Elman RNN, an LSTM and a GRU on
the copy task at growing delays, and the gradient norm that reaches each input step.

The copy task asks to repeat a few symbols after a blank delay; the answer depends only on
steps `delay` + a few back, so a network must carry information (and gradient) across the
delay. Back-propagation through time multiplies one Jacobian per step: in the Elman network
the product shrinks geometrically and its accuracy falls to chance as the delay grows, while
the LSTM's additive cell state (and the GRU's interpolation) keep a path open."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nnjournal import data as data_mod
from nnjournal.config import RunConfig
from nnjournal.data.sequences import IGNORE
from nnjournal.evaluation.gradients_through_time import input_gradient_norms
from nnjournal.journal import sequence_plots
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.studies.common import study_setting, with_overrides, write_study
from nnjournal.tasks import build_task
from nnjournal.training.seeding import seed_everything
from nnjournal.training.trainers import train_one

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"lengths": [5, 40], "cells": ["elman", "lstm"], "epochs": 15, "train_size": 2000},
    "default": {"lengths": [10, 25, 50, 100, 200], "cells": ["elman", "lstm", "gru"], "epochs": 30,
                "train_size": 5000},
}
NAMES = {"elman": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}


def gradient_norms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(T,) ||dL/d embedding_t|| averaged over the batch, for a `SequenceTagger` whose loss is
    read at the scored steps only (the last `memory` steps of the copy task)."""
    model.eval()
    net = model

    def forward(e: torch.Tensor) -> torch.Tensor:
        return net.head(net.encoder(e)[0])

    def loss_fn(logits: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)

    return input_gradient_norms(forward, x, loss_fn, embed=net.inputs).detach().numpy()


def run_rnn_gradients(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lengths = study_setting(cfg, "lengths", PROFILES)
    cells = study_setting(cfg, "cells", PROFILES)
    epochs = study_setting(cfg, "epochs", PROFILES)
    n_train = study_setting(cfg, "train_size", PROFILES)
    run_dir = create_run_dir(out, cfg.recipe)
    accuracy: dict[str, list[float]] = {c: [] for c in cells}
    grads: dict[str, np.ndarray] = {}
    table = []
    chance = 1.0 / cfg.data.n_symbols
    for delay in lengths:
        setting = with_overrides(cfg, {"data": {"delay": delay, "n_train": n_train},
                                       "training": {"epochs": epochs}})
        bundle = data_mod.load(setting.data, seed=cfg.seed)
        task = build_task(setting.task, bundle.info, bundle)
        row = [str(delay)]
        for cell in cells:
            cell_cfg = with_overrides(setting, {"model": {"cell": cell}})
            if delay == max(lengths):  # the gradient that reaches each step, before training
                seed_everything(cfg.seed)
                from nnjournal import models

                fresh = models.build(cell_cfg.model, bundle.info, task.out_features)
                probe = bundle.test.take(torch.arange(min(256, len(bundle.test))))
                grads[NAMES[cell]] = gradient_norms(fresh, probe.x, probe.y)
            model, history = train_one(cell_cfg, bundle, task)
            acc = task.evaluate(model, bundle.test)["accuracy"]
            accuracy[cell].append(acc)
            row.append(f"{acc:.3f}")
            if not quiet:
                print(f"  delay {delay:4d}  {NAMES[cell]:9s} test accuracy {acc:.3f}", flush=True)  # noqa: T201
        table.append(row)

    pdir = run_dir / "plots"
    sequence_plots.accuracy_vs_length({NAMES[c]: (lengths, accuracy[c]) for c in cells}, chance,
                                      pdir / "accuracy_vs_length.png")
    sequence_plots.gradient_through_time(grads, pdir / "gradient_through_time.png")
    plots = [
        {"file": "plots/accuracy_vs_length.png", "caption": "Test accuracy of the recalled symbols against the delay"},
        {"file": "plots/gradient_through_time.png",
         "caption": f"Gradient norm reaching each input step at delay {max(lengths)}, at initialisation (log scale)"},
    ]
    decay = {name: float(g[0] / g[-1]) for name, g in grads.items()}  # first step vs last step
    m = cfg.data.memory
    blocks = [
        ("h2", "What was run"),
        ("ul", [
            f"The copy task: {m} symbols of {cfg.data.n_symbols}, a blank delay, then repeat them; "
            f"{n_train} training sequences per delay, chance accuracy {chance:.3f}.",
            f"Model: {cfg.model.hidden} hidden units, one layer, one output per step; {epochs} epochs, "
            f"{cfg.training.optimizer.name} lr {cfg.training.optimizer.lr:g}, gradient clipping at norm "
            f"{cfg.training.clip.norm}.",
        ]),
        ("h2", "Results"),
        ("table", ["delay", *(f"{NAMES[c]} accuracy" for c in cells)], table),
    ]
    conclusion = _conclusion(lengths, accuracy, decay, chance)
    best = max(cells, key=lambda c: accuracy[c][-1])
    return write_study(
        cfg, out, started=started, elapsed=time.perf_counter() - t0,
        headline={"metric": f"accuracy at delay {max(lengths)}", "variant": NAMES[best], "value": accuracy[best][-1]},
        rows={NAMES[c]: {f"accuracy@{d}": a for d, a in zip(lengths, accuracy[c], strict=True)} for c in cells},
        blocks=blocks, plots=plots, conclusion=conclusion,
        details={"lengths": lengths, "accuracy": {NAMES[c]: accuracy[c] for c in cells},
                 "gradient_first_over_last": decay, "gradient_norms": {k: v.tolist() for k, v in grads.items()},
                 "epochs": epochs},
        run_dir=run_dir,
    )


def _conclusion(lengths: list[int], accuracy: dict[str, list[float]], decay: dict[str, float],
                chance: float) -> list[str]:
    lines = []
    for cell, acc in accuracy.items():
        lines.append(f"{NAMES[cell]}: test accuracy {acc[0]:.3f} at delay {lengths[0]} and {acc[-1]:.3f} at "
                     f"delay {lengths[-1]} (chance {chance:.3f}).")
    if "elman" in accuracy and "lstm" in accuracy and len(lengths) > 1:
        e, s = accuracy["elman"], accuracy["lstm"]
        lines.append(f"From the shortest to the longest delay the Elman network loses {e[0] - e[-1]:.3f} accuracy "
                     f"and the LSTM {s[0] - s[-1]:.3f}.")
    lines.append("Gradient reaching the first input step relative to the last, at initialisation: "
                 + ", ".join(f"{n} {r:.1e}" if r > 0 else f"{n} 0 (below float32's range)" for n, r in decay.items())
                 + " — the smaller, the less the earliest inputs can be learned from (the vanishing gradient).")
    return lines
