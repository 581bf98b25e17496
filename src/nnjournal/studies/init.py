"""The initialization study (curriculum §1: weight initialization and symmetry breaking): one
MLP trained from zeros, a small and a large normal, Xavier and He. The trained weights show why
zeros fail: each hidden unit of a layer gets the same gradient, so the units stay identical and
a layer of 64 units computes one feature 64 times. The conclusion names that symmetry, measured
on the weights, instead of blaming the model's capacity."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from nnjournal import data as data_mod
from nnjournal import models
from nnjournal.config import RunConfig
from nnjournal.debugging.symmetry import IDENTICAL, unit_symmetry
from nnjournal.journal import debug_plots
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.studies.common import error, load_task, study_setting, with_overrides, write_study
from nnjournal.tasks import task_class
from nnjournal.training.fit import fit
from nnjournal.training.seeding import seed_everything

PROFILES: dict[str, dict[str, Any]] = {"quick": {"epochs": 15}, "default": {"epochs": 60}}
SETTINGS: dict[str, dict[str, Any]] = {
    "zeros": {"init": "zeros"},
    "normal(0.01)": {"init": "normal", "init_std": 0.01},
    "normal(1)": {"init": "normal", "init_std": 1.0},
    "Xavier": {"init": "xavier"},
    "He": {"init": "he"},
}


def run_init(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    epochs = study_setting(cfg, "epochs", PROFILES)
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    run_dir = create_run_dir(out, cfg.recipe)
    task = load_task(cfg, bundle)
    results: dict[str, dict[str, Any]] = {}
    first_units: dict[str, np.ndarray] = {}
    curves: dict[str, list[float]] = {}
    for name, part in SETTINGS.items():
        scfg = with_overrides(cfg, {"model": part, "training": {"epochs": epochs, "early_stopping": {"restore_best": False}}})
        seed_everything(cfg.seed)
        net = models.build(scfg.model, bundle.info, task.out_features)
        history = fit(net, bundle.train, bundle.val, task=task, config=scfg.training, seed=cfg.seed)
        curves[name] = [r["train_loss"] for r in history.records]
        symmetry = unit_symmetry(net)
        results[name] = {
            "train_accuracy": 1.0 - error(net, bundle.train, task),
            "test_accuracy": 1.0 - error(net, bundle.test, task),
            "layers": symmetry,
            "symmetric": all(s["distinct"] == 1 for s in symmetry),
        }
        first = [m for m in net.modules() if isinstance(m, nn.Linear)][0]
        first_units[name] = first.weight.detach()[:8].cpu().numpy()
        if not quiet:
            print(f"  {name:14s} train {results[name]['train_accuracy']:.3f} distinct {[s['distinct'] for s in symmetry]}", flush=True)  # noqa: T201

    pdir = run_dir / "plots"
    plots = []
    side = int(round(bundle.info.n_features ** 0.5))
    if side * side == bundle.info.n_features:  # inputs that are pictures: each unit's weights as one
        debug_plots.unit_weights(first_units, (side, side), "First hidden layer: incoming weights of units 1-8", pdir / "units.png")
        plots.append({"file": "plots/units.png", "caption": "Incoming weights of the first 8 hidden units after training, one row per init (identical pictures = identical units)"})
    debug_plots.profile_by_layer({k: v for k, v in curves.items()}, "Training loss per epoch", pdir / "loss.png", xlabel="epoch", ylabel="training loss")
    plots.append({"file": "plots/loss.png", "caption": "Training loss per epoch for each initialization"})
    table = [
        [name, f"{r['train_accuracy']:.3f}", f"{r['test_accuracy']:.3f}",
         ", ".join(f"{s['distinct']}/{s['width']}" for s in r["layers"]),
         ", ".join(f"{s['spread']:.1e}" for s in r["layers"])]
        for name, r in results.items()
    ]
    blocks = [
        ("h2", "What was run"),
        ("ul", [
            f"Data: {bundle.describe()}.",
            f"Model: MLP {cfg.model.hidden}, {cfg.model.activation}; {epochs} epochs of {cfg.training.optimizer.name} "
            f"lr {cfg.training.optimizer.lr:g}, batch {cfg.training.batch_size}; the last epoch's weights are kept.",
            "Distinct units: hidden units whose incoming weights and bias differ by more than "
            f"{IDENTICAL:g} from every other unit's; spread: the largest difference from unit 1's weights.",
        ]),
        ("h2", "Results"),
        ("table", ["init", "train accuracy", "test accuracy", "distinct units per hidden layer", "spread per layer"], table),
    ]
    best = max(results, key=lambda n: results[n]["test_accuracy"])
    return write_study(
        cfg, out, started=started, elapsed=time.perf_counter() - t0,
        headline={"metric": "accuracy", "variant": best, "value": results[best]["test_accuracy"]},
        rows={n: {"accuracy": r["test_accuracy"]} for n, r in results.items()},
        blocks=blocks, plots=plots, conclusion=init_conclusion(results, epochs),
        details={"results": results}, run_dir=run_dir,
    )


def init_conclusion(results: dict[str, dict[str, Any]], epochs: int) -> list[str]:
    """Sentences from the measured weights: a layer whose units all stayed identical is a
    symmetry that never broke, not a model too small for the data."""
    lines = []
    for name, r in results.items():
        widths = [s["width"] for s in r["layers"]]
        if r["symmetric"]:
            moved = max(s["moved"] for s in r["layers"])
            lines.append(
                f"{name}: after {epochs} epochs every hidden unit of each layer is still identical to the others "
                f"(1 distinct unit per layer of {widths}; largest difference between two units "
                f"{max(s['spread'] for s in r['layers']):.1e}, while the weights moved up to {moved:.2g} from their start). "
                "Each unit receives the same gradient, so the symmetry is never broken and every layer acts as a "
                f"single unit: that, not a lack of capacity, is why its training accuracy is {r['train_accuracy']:.3f}."
            )
        else:
            lines.append(
                f"{name}: the symmetry is broken (distinct units per layer "
                f"{[s['distinct'] for s in r['layers']]} of {widths}); train accuracy {r['train_accuracy']:.3f}, "
                f"test {r['test_accuracy']:.3f}."
            )
    broken = {n: r for n, r in results.items() if not r["symmetric"]}
    if broken:
        best = max(broken, key=lambda n: broken[n]["test_accuracy"])
        lines.append(f"The best initialization here is {best} (test accuracy {broken[best]['test_accuracy']:.3f}).")
    return lines
