"""The gradients study (curriculum §1: vanishing and exploding gradients): one deep MLP, trained
with the settings that make its gradients vanish or explode and with those that cure them. Each
layer's gradient norm is measured at initialisation and per epoch; the conclusion reads, from
those numbers, which settings vanished or exploded and which kept every layer's gradient within
10x of the output layer's."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from nnjournal import data as data_mod
from nnjournal import models
from nnjournal.config import RunConfig
from nnjournal.debugging.activations import gradient_stats
from nnjournal.journal import debug_plots
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.studies.common import error, load_task, study_setting, with_overrides, write_study
from nnjournal.tasks import task_class
from nnjournal.training.fit import fit
from nnjournal.training.guard import NonFiniteError
from nnjournal.training.seeding import seed_everything

PROFILES: dict[str, dict[str, Any]] = {"quick": {"epochs": 5}, "default": {"epochs": 30}}
VANISHED = 100.0  # output-layer gradient norm / first layer's at or above this: vanished
EXPLODED = 100.0  # a weight matrix's gradient norm at initialisation at or above this (a cross-entropy
# loss gives norms of order 1 with a sound init), or a non-finite loss: exploded
HEALTHY = 10.0  # within this factor either way: the gradient reaches every layer
LARGE_STD = 0.3  # He's std for width 64 is 0.18: 0.3 multiplies the signal by ~1.7 per layer

# name -> (model overrides, training overrides)
SETTINGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "sigmoid, normal(0.01)": ({"activation": "sigmoid", "init": "normal", "init_std": 0.01}, {}),
    f"ReLU, normal({LARGE_STD})": ({"activation": "relu", "init": "normal", "init_std": LARGE_STD}, {}),
    "tanh, Xavier": ({"activation": "tanh", "init": "xavier"}, {}),
    "ReLU, He": ({"activation": "relu", "init": "he"}, {}),
    "ReLU, He, batch norm": ({"activation": "relu", "init": "he", "norm": "batch"}, {}),
    "ReLU, He, batch norm, residual": ({"activation": "relu", "init": "he", "norm": "batch", "residual": True}, {}),
    f"ReLU, normal({LARGE_STD}), clip 1": (
        {"activation": "relu", "init": "normal", "init_std": LARGE_STD}, {"clip": {"norm": 1.0}}
    ),
}


def run_gradients(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    epochs = study_setting(cfg, "epochs", PROFILES)
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    run_dir = create_run_dir(out, cfg.recipe)
    task = load_task(cfg, bundle)
    probe = bundle.train.take(np.arange(min(256, len(bundle.train))))

    results: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, list[float]]] = {}
    for name, (model_part, training_part) in SETTINGS.items():
        scfg = with_overrides(cfg, {"model": model_part, "training": {"epochs": epochs, "log_grad_norms": True, **training_part}})
        seed_everything(cfg.seed)
        net = models.build(scfg.model, bundle.info, task.out_features)
        net.train()
        init = [g["norm"] for g in gradient_stats(net, task.training_step(net, probe, None).loss).values()]
        records: list[dict[str, Any]] = []
        diverged = None
        try:
            fit(net, bundle.train, bundle.val, task=task, config=scfg.training, seed=cfg.seed,
                on_epoch_end=[lambda e, r, records=records: records.append(r)])
        except NonFiniteError as err:
            diverged = str(err).split(";")[0].removeprefix("training diverged: ")
        layers = list(records[0]["grad_norm"]) if records else []
        curves[name] = {layer: [r["grad_norm"][layer] for r in records] for layer in layers}
        per_layer = [float(np.mean(curves[name][layer])) for layer in layers] if records else init
        results[name] = {
            "init_norms": init,
            "mean_norms": per_layer,  # per weight matrix, first hidden layer ... output layer
            "first": per_layer[0],
            "last": per_layer[-1],
            "ratio": per_layer[-1] / max(per_layer[0], 1e-300),  # output / first: > 1 = shrinks backwards
            "diverged": diverged,
            "clip": scfg.training.clip.norm,
            "epochs_run": len(records),
            "test_accuracy": None if diverged else 1.0 - error(net, bundle.test, task),
        }
        if not quiet:
            r = results[name]
            print(f"  {name:34s} first {r['first']:.2e} last {r['last']:.2e} acc {r['test_accuracy']}", flush=True)  # noqa: T201

    pdir = run_dir / "plots"
    debug_plots.norms_by_layer({k: v for k, v in curves.items() if v}, "Gradient norm per layer against epochs (dark = first layer)", pdir / "norms.png")
    debug_plots.profile_by_layer({k: r["init_norms"] for k, r in results.items()}, "Gradient norm per layer at initialisation", pdir / "init_profile.png")
    plots = [
        {"file": "plots/init_profile.png", "caption": "Each layer's gradient norm at initialisation (256 training examples), first layer left"},
        {"file": "plots/norms.png", "caption": "Each layer's RMS gradient norm per epoch, one panel per setting (log scale)"},
    ]
    table = [
        [name, f"{r['first']:.2e}", f"{r['last']:.2e}", f"{r['ratio']:.2e}",
         r["diverged"] or f"{r['test_accuracy']:.3f}", verdict(r)]
        for name, r in results.items()
    ]
    blocks = [
        ("h2", "What was run"),
        ("ul", [
            f"Data: {bundle.describe()}.",
            f"Model: MLP with {len(cfg.model.hidden)} hidden layers of {cfg.model.hidden[0]}; {epochs} epochs of "
            f"{cfg.training.optimizer.name} lr {cfg.training.optimizer.lr:g} momentum {cfg.training.optimizer.momentum:g}, "
            f"batch {cfg.training.batch_size}; every setting from the same seed.",
            "Gradient norms: the RMS over an epoch's steps of each weight matrix's gradient norm (before clipping), "
            "averaged over epochs; a run that diverges is measured at initialisation.",
        ]),
        ("h2", "Results"),
        ("table", ["setting", "first layer |g|", "output layer |g|", "output / first", "test accuracy", "gradients"], table),
    ]
    headline_name = max((n for n in results if results[n]["test_accuracy"] is not None), key=lambda n: results[n]["test_accuracy"])
    return write_study(
        cfg, out, started=started, elapsed=time.perf_counter() - t0,
        headline={"metric": "accuracy", "variant": headline_name, "value": results[headline_name]["test_accuracy"]},
        rows={n: {"accuracy": r["test_accuracy"] if r["test_accuracy"] is not None else float("nan")} for n, r in results.items()},
        blocks=blocks, plots=plots, conclusion=gradients_conclusion(results),
        details={"results": results}, run_dir=run_dir,
    )


def verdict(r: dict[str, Any]) -> str:
    """vanished / exploded / healthy / uneven, from the measured norms."""
    init = r["init_norms"]
    if r["diverged"] or max(init) >= EXPLODED:
        return "exploded"
    if r["ratio"] >= VANISHED:
        return "vanished"
    return "healthy" if 1 / HEALTHY <= r["ratio"] <= HEALTHY else "uneven"


def gradients_conclusion(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    healthy = {n: r for n, r in results.items() if verdict(r) == "healthy"}
    for name, r in results.items():
        v = verdict(r)
        if v == "vanished":
            lines.append(
                f"{name}: the gradients vanished — the first layer's gradient norm ({r['first']:.1e}) is "
                f"{r['ratio']:.1e}x smaller than the output layer's ({r['last']:.1e}); test accuracy {r['test_accuracy']:.3f}."
            )
        elif v == "exploded":
            init = r["init_norms"]
            lines.append(
                f"{name}: the gradients exploded — at initialisation the layers' gradient norms run from "
                f"{min(init):.1e} to {max(init):.1e} (a sound init gives about 1); "
                + (f"training diverged ({r['diverged']})." if r["diverged"] else
                   f"it still trained to test accuracy {r['test_accuracy']:.3f}"
                   + (f": clipping the gradient norm to {r['clip']:g} cured the divergence, the same "
                      "init without it diverged." if r["clip"] and any(o["diverged"] for o in results.values()) else "."))
            )
    if healthy:
        best = max(healthy, key=lambda n: healthy[n]["test_accuracy"])
        lines.append(
            "Cured (every layer's gradient within 10x of the output layer's): "
            + ", ".join(f"{n} ({1 / r['ratio']:.2f}x, accuracy {r['test_accuracy']:.3f})" for n, r in healthy.items())
            + f". The best of them is {best}."
        )
    return lines
