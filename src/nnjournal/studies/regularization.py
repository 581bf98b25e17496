"""The regularization study (curriculum §2): one data set, one base model deliberately sized to
overfit a small training subset, and every technique trained with several seeds. The journal
entry shows what each technique does to overfitting — train vs validation curves, the
generalization gap, weight distributions (L1 sparsity vs L2 shrinkage), batch norm's speed to a
target accuracy, ensembles vs their members, and MC-dropout uncertainty — from the runs."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal import data as data_mod
from nnjournal.config import RunConfig
from nnjournal.data.bundle import DataBundle
from nnjournal.errors import NNJError
from nnjournal.journal import study_plots
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.regularization.mc_dropout import has_dropout, mc_dropout_report
from nnjournal.regularization.penalties import near_zero_fraction, weight_parameters
from nnjournal.studies.common import (
    SeedRuns,
    default_workers,
    error,
    load_task,
    loss,
    mean_std,
    pm,
    study_setting,
    subsample,
    train_settings,
    with_overrides,
    write_study,
)
from nnjournal.tasks import Classification, task_class

# Each technique is a partial recipe merged over the base recipe. Strengths were chosen on the
# validation split of the study's own data (MNIST-10k, 500 training images;
# benchmarks/regularization_strengths.py prints the sweep): dropout 20% on the input, 50% on
# hidden layers (the lecture says 10% on the input; 20% had the lower validation error); L2/L1
# as small as still measurable, since stronger penalties in the loss raised validation error
# under Adam.
# `AUGMENTATION` stands for the augmentation that fits the data (see `augmentation_for`).
AUGMENTATION = "<augmentation that fits the data>"
TECHNIQUES: dict[str, dict[str, Any]] = {
    "none": {},
    "l2": {"training": {"penalty": {"l2": 1e-4}}},
    "l1": {"training": {"penalty": {"l1": 3e-5}}},
    "elastic": {"training": {"penalty": {"l1": 1.5e-5, "l2": 5e-5}}},
    "dropout": {"model": {"dropout_input": 0.2, "dropout_hidden": 0.5}},
    "batchnorm": {"model": {"norm": "batch"}},
    "early-stopping": {"training": {"early_stopping": {"patience": 15, "restore_best": True}}},
    "augmentation": {"training": {"augment": AUGMENTATION}},
    "ensemble": {"ensemble": {"size": 5, "method": "seeds"}},
    # Dropout is milder here than alone: on top of augmentation the full rate underfits.
    "all-combined": {
        "model": {"dropout_hidden": 0.3},
        "training": {
            "penalty": {"l2": 1e-4},
            "augment": AUGMENTATION,
            "early_stopping": {"patience": 20, "restore_best": True},
        },
        "ensemble": {"size": 5, "method": "seeds"},
    },
    # Also offered (add them to `study.techniques`):
    # L2 as decoupled weight decay (AdamW) rather than a loss term scaled by Adam; 0.1 was the
    # sweep's best on validation, and it ties the base model there too (docs/benchmarks.md).
    "weight-decay": {"training": {"optimizer": {"name": "adamw", "weight_decay": 0.1}}},
    "weight-noise": {"training": {"weight_noise": 0.01}},  # best validation error of 0.01-0.05
    "label-smoothing": {"training": {"label_smoothing": 0.1}},
    "max-norm": {"model": {"dropout_hidden": 0.5}, "training": {"max_norm": 3.0}},
    "noise-injection": {"model": {"noise_hidden": 0.5}},
    "bagging": {"ensemble": {"size": 5, "method": "bagging"}},
    "snapshot-ensemble": {"ensemble": {"size": 5, "method": "snapshot"}},
}
# Images get changes a handwritten digit survives: shifts of up to 10% of the side, rotations
# of up to 15 degrees, zoom of +-15% (on 500 MNIST digits these halve the test error). Feature
# vectors get Gaussian noise and feature dropout.
IMAGE_AUGMENTATION: dict[str, Any] = {"translate": 0.1, "rotation": 15.0, "zoom": 0.15}
VECTOR_AUGMENTATION: dict[str, Any] = {"noise_std": 0.3, "feature_dropout": 0.2}
REQUIRED = [
    "none",
    "l2",
    "l1",
    "elastic",
    "dropout",
    "batchnorm",
    "early-stopping",
    "augmentation",
    "ensemble",
    "all-combined",
]
# The training-set size is the recipe's `study.train_size` (what overfits depends on the data).
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"seeds": 2, "train_size": 500, "epochs": 60, "techniques": REQUIRED, "target_accuracy": 0.85},
    "default": {
        "seeds": 5,
        "train_size": 500,
        "epochs": 100,
        "techniques": [
            *REQUIRED,
            "weight-decay",
            "label-smoothing",
            "max-norm",
            "noise-injection",
            "weight-noise",
        ],
        "target_accuracy": 0.85,
    },
}
NEAR_ZERO = 1e-3  # |w| below this counts as (near-)zero
PENALTY_VIEW = ["none", "l2", "l1", "elastic"]


def run_regularization(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    seeds = list(range(study_setting(cfg, "seeds", PROFILES)))
    techniques = study_setting(cfg, "techniques", PROFILES)
    unknown = [t for t in techniques if t not in TECHNIQUES]
    if unknown:
        raise NNJError(f"study.techniques: unknown {unknown}; choose from {', '.join(TECHNIQUES)}")
    repeated = sorted({t for t in techniques if techniques.count(t) > 1})
    if repeated:
        raise NNJError(f"study.techniques: {', '.join(repeated)} listed more than once; name each once")
    epochs = study_setting(cfg, "epochs", PROFILES)
    target = study_setting(cfg, "target_accuracy", PROFILES)
    base = cfg.model_copy(update={"training": cfg.training.model_copy(update={"epochs": epochs})})
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    train_size = study_setting(cfg, "train_size", PROFILES)
    bundle = DataBundle(
        subsample(bundle.train, train_size, cfg.seed),
        bundle.val,
        bundle.test,
        bundle.info,
        bundle.preprocessing,
    )
    task = load_task(cfg, bundle)
    if not isinstance(task, Classification):
        raise NNJError(
            "the regularization study measures classification error; use a classification data set"
        )
    run_dir = create_run_dir(out, cfg.recipe)  # after the checks: bad input leaves no directory

    images = len(bundle.info.input_shape) == 3
    settings = {n: augmentation_for(TECHNIQUES[n], images) for n in techniques}
    runs: dict[str, SeedRuns] = {}
    rows: dict[str, dict[str, float]] = {}
    table: list[list[str]] = []
    configs = {n: with_overrides(base, settings[n]) for n in techniques}
    workers = cfg.study.workers or default_workers()
    for name, r in train_settings(configs, bundle, task, seeds, workers):
        runs[name] = r
        train_err = [error(m, bundle.train, task) for m in r.models]
        test_err = [error(m, bundle.test, task) for m in r.models]
        gap = [te - tr for tr, te in zip(train_err, test_err, strict=True)]
        loss_gap = [loss(m, bundle.test, task) - loss(m, bundle.train, task) for m in r.models]
        zero = [
            float(np.mean([near_zero_fraction(n, NEAR_ZERO) for n in _nets(r, i)])) for i in range(len(seeds))
        ]
        rows[name] = {
            "train_error": mean_std(train_err)[0],
            "test_error": mean_std(test_err)[0],
            "test_error_std": mean_std(test_err)[1],
            "gap": mean_std(gap)[0],
            "gap_std": mean_std(gap)[1],
            "loss_gap": mean_std(loss_gap)[0],
            "loss_gap_std": mean_std(loss_gap)[1],
            "near_zero_fraction": mean_std(zero)[0],
            "wall_s_per_model": r.wall_s / len(seeds),
            "vectorized": float(r.vectorized),
        }
        table.append(
            [
                name,
                pm(train_err),
                pm(test_err),
                pm(gap),
                pm(loss_gap),
                f"{rows[name]['near_zero_fraction']:.1%}",
                f"{r.wall_s / len(seeds):.2f}" + (" (vectorized)" if r.vectorized else ""),
            ]
        )
        if not quiet:
            print(f"  {name:16s} test error {pm(test_err)}  gap {pm(gap)}  {r.wall_s:.1f} s", flush=True)  # noqa: T201

    ranked = sorted(rows, key=lambda n: rows[n]["test_error"])
    blocks: list[tuple[Any, ...]] = [
        ("h2", "What was run"),
        (
            "ul",
            [
                f"Data: {bundle.describe()} — the training split cut to {len(bundle.train)} examples "
                f"(stratified) so that the base model overfits; validation and test splits unchanged.",
                f"Base model: MLP hidden {cfg.model.hidden if cfg.model.name == 'mlp' else '-'}, "
                f"{cfg.training.optimizer.name} lr {cfg.training.optimizer.lr:g}, batch {cfg.training.batch_size}, "
                f"{epochs} epochs, last epoch kept unless the technique says otherwise.",
                f"Seeds: {len(seeds)} per technique (initialisation and batch order; the data split is fixed).",
                *[f"{n}: {_describe(settings[n])}" for n in techniques],
            ],
        ),
        ("h2", "Results"),
        (
            "p",
            "Error = 1 − accuracy. Gap (error) = test error − train error, the generalization gap in "
            "mistakes; gap (loss) = test − train cross-entropy (nats), the same gap in confidence: an "
            "overfitted model is also over-confident on what it gets wrong. Per seed, then mean ± std over "
            "seeds. Ensembles are scored on their combined prediction. Near-zero: fraction "
            f"of weights with |w| < {NEAR_ZERO:g}. Wall time: seconds per model (vectorized settings train "
            "all seeds together; the time is split evenly).",
        ),
        (
            "table",
            [
                "technique",
                "train error",
                "test error",
                "gap (error)",
                "gap (loss)",
                "near-zero w",
                "wall s / model",
            ],
            [table[techniques.index(n)] for n in ranked],
        ),
    ]

    pdir = run_dir / "plots"
    plots: list[dict[str, str]] = []
    curves = {
        n: (
            [[1 - rec["train_accuracy"] for rec in h.records] for hs in r.histories for h in hs],
            [[1 - rec["val_accuracy"] for rec in h.records] for hs in r.histories for h in hs],
        )
        for n, r in runs.items()
    }
    study_plots.error_curves_grid(curves, pdir / "curves.png")
    plots.append(
        {
            "file": "plots/curves.png",
            "caption": "Train vs validation error per technique (shared axes). Train error is measured while "
            "training (with dropout/augmentation on); ensembles show their members.",
        }
    )
    details: dict[str, Any] = {"techniques": rows, "seeds": len(seeds), "train_size": len(bundle.train)}

    shown = {n: _weights(runs[n].models[0]) for n in PENALTY_VIEW if n in runs}
    if shown:
        study_plots.weight_histograms(shown, NEAR_ZERO, pdir / "weights.png")
        plots.append(
            {"file": "plots/weights.png", "caption": "Weight magnitudes: L1 sparsity vs L2 shrinkage"}
        )

    steps_per_epoch = math.ceil(len(bundle.train) / min(cfg.training.batch_size, len(bundle.train)))
    bn_lines = _steps_to_target(runs, target, steps_per_epoch, details)
    if bn_lines:
        acc = {
            n: [[rec["val_accuracy"] for rec in h.records] for hs in runs[n].histories for h in hs]
            for n in ("none", "batchnorm")
        }
        study_plots.steps_to_target(acc, steps_per_epoch, target, pdir / "steps_to_target.png")
        plots.append(
            {
                "file": "plots/steps_to_target.png",
                "caption": "Steps to target accuracy, with and without batch norm",
            }
        )
        blocks += [("h2", "Batch norm: steps to target accuracy"), ("ul", bn_lines)]

    ens_lines = _ensemble_spread(runs, bundle, task, pdir, plots, details)
    if ens_lines:
        blocks += [("h2", "Ensembles: members and their spread"), ("ul", ens_lines)]

    mc_lines = _mc_dropout(runs, bundle, pdir, plots, details)
    if mc_lines:
        blocks += [("h2", "Dropout as an implicit ensemble (Monte-Carlo dropout)"), ("ul", mc_lines)]

    conclusion = _conclusion(rows, ranked, details)
    headline = {"metric": "test_error", "variant": ranked[0], "value": rows[ranked[0]]["test_error"]}
    return write_study(
        cfg,
        out,
        started=started,
        elapsed=time.perf_counter() - t0,
        headline=headline,
        rows={
            n: {"test_error": rows[n]["test_error"], "gap": rows[n]["gap"], "loss_gap": rows[n]["loss_gap"]}
            for n in ranked
        },
        blocks=blocks,
        plots=plots,
        conclusion=conclusion,
        details=details,
        run_dir=run_dir,
    )


def augmentation_for(partial: dict[str, Any], images: bool) -> dict[str, Any]:
    """`partial` with the `AUGMENTATION` placeholder replaced by the augmentation that fits the
    inputs: geometric changes for images (C, H, W), noise and feature dropout for vectors."""
    chosen = IMAGE_AUGMENTATION if images else VECTOR_AUGMENTATION
    return {
        k: dict(chosen) if v == AUGMENTATION else augmentation_for(v, images) if isinstance(v, dict) else v
        for k, v in partial.items()
    }


def _nets(r: SeedRuns, seed_index: int) -> list[torch.nn.Module]:
    return r.members[seed_index] if r.members else [r.models[seed_index]]


def _weights(model: torch.nn.Module) -> np.ndarray:
    if hasattr(model, "members"):
        model = model.members[0]
    return np.concatenate([w.detach().cpu().numpy().ravel() for w in weight_parameters(model)])


def _describe(partial: dict[str, Any], prefix: str = "") -> str:
    if not partial:
        return "no regularization (the base model)"
    parts = []
    for k, v in partial.items():
        if isinstance(v, dict):
            parts.append(_describe(v, f"{prefix}{k}."))
        else:
            parts.append(f"`{prefix}{k} = {v}`")
    return ", ".join(parts)


def _first_reach(acc: list[float], target: float) -> int | None:
    for i, a in enumerate(acc):
        if a >= target:
            return i + 1
    return None


def _steps_to_target(
    runs: dict[str, SeedRuns], target: float, steps_per_epoch: int, details: dict[str, Any]
) -> list[str]:
    if "none" not in runs or "batchnorm" not in runs:
        return []
    steps: dict[str, list[int | None]] = {}
    for name in ("none", "batchnorm"):
        steps[name] = []
        for hs in runs[name].histories:
            e = _first_reach([rec["val_accuracy"] for rec in hs[0].records], target)
            steps[name].append(e * steps_per_epoch if e is not None else None)
    details["steps_to_target"] = {"target": target, "steps_per_epoch": steps_per_epoch, **steps}
    lines = []
    for name, s in steps.items():
        reached = [v for v in s if v is not None]
        lines.append(
            f"{name}: validation accuracy {target:.0%} reached by {len(reached)}/{len(s)} seeds"
            + (f", median {float(np.median(reached)):.0f} steps (per seed: {s})" if reached else "")
        )
    a, b = [v for v in steps["none"] if v], [v for v in steps["batchnorm"] if v]
    if a and b:
        ratio = float(np.median(a) / np.median(b))
        details["steps_to_target"]["ratio"] = ratio
        lines.append(
            f"Batch norm needs {ratio:.1f}× {'fewer' if ratio >= 1 else 'more'} steps here (median, steps counted "
            f"per epoch of {steps_per_epoch}). The batch-norm paper reports 14× fewer steps for an Inception "
            "model on ImageNet, where batch norm also allowed a 30× higher learning rate; this small MLP "
            "keeps the same Adam learning rate with and without it."
        )
    return lines


def _ensemble_spread(
    runs: dict[str, SeedRuns], bundle: DataBundle, task: Any, pdir: Path, plots: list, details: dict
) -> list[str]:
    members, combined, lines = {}, {}, []
    for name, r in runs.items():
        if not r.members:
            continue
        members[name] = [[error(m, bundle.test, task) for m in group] for group in r.members]
        combined[name] = [error(m, bundle.test, task) for m in r.models]
        flat = [e for g in members[name] for e in g]
        lines.append(
            f"{name}: members' test error {pm(flat)} (best {min(flat):.3f}, worst {max(flat):.3f}); the combined "
            f"prediction {pm(combined[name])}."
        )
        details.setdefault("ensembles", {})[name] = {"members": members[name], "combined": combined[name]}
    if members:
        study_plots.ensemble_spread(members, combined, pdir / "ensemble.png")
        plots.append({"file": "plots/ensemble.png", "caption": "Ensemble members vs the combined prediction"})
    return lines


def _mc_dropout(
    runs: dict[str, SeedRuns], bundle: DataBundle, pdir: Path, plots: list, details: dict
) -> list[str]:
    model = runs["dropout"].models[0] if "dropout" in runs else None
    if model is None or not has_dropout(model):
        return []
    mc = mc_dropout_report(model, bundle.test, samples=50, seed=0)
    study_plots.mc_dropout_uncertainty(mc.pop("entropy"), mc.pop("correct"), pdir / "mc_dropout.png")
    plots.append(
        {
            "file": "plots/mc_dropout.png",
            "caption": "MC-dropout predictive uncertainty (dropout model, seed 0)",
        }
    )
    details["mc_dropout"] = mc
    right, wrong = mc["entropy_correct"], mc["entropy_wrong"]
    return [
        f"50 stochastic passes with dropout on: test accuracy {mc['accuracy']:.3f} (single deterministic "
        f"pass {mc['deterministic_accuracy']:.3f}).",
        f"Mean predictive entropy {right:.3f} nats on correct predictions vs {wrong:.3f} on wrong ones"
        + (": the model is less sure where it errs." if wrong > right else "."),
    ]


def _conclusion(rows: dict[str, dict[str, float]], ranked: list[str], details: dict[str, Any]) -> list[str]:
    lines = [
        "Test error, best first: "
        + ", ".join(f"{n} {rows[n]['test_error']:.3f}" for n in ranked)
        + f". {ranked[0]} generalizes best on this data."
    ]
    if "none" in rows:
        for key, unit in (("gap", "error"), ("loss_gap", "cross-entropy, nats")):
            none_gap = rows["none"][key]
            by_gap = sorted((n for n in rows if n != "none"), key=lambda n: rows[n][key])
            if by_gap:
                g = by_gap[0]
                if rows[g][key] < none_gap:
                    ratio = none_gap / rows[g][key] if rows[g][key] > 0 else float("inf")
                    smallest = f"the smallest is {g}'s {rows[g][key]:.3f} ({ratio:.1f}× smaller)"
                else:
                    smallest = f"no technique narrowed it (the smallest, {g}'s, is {rows[g][key]:.3f})"
                lines.append(
                    f"Generalization gap in {unit}: {none_gap:.3f} without regularization; {smallest}; "
                    f"{ranked[0]} (best test error) has {rows[ranked[0]][key]:.3f}."
                )
        worse = [n for n in rows if n != "none" and rows[n]["test_error"] > rows["none"]["test_error"]]
        if worse:
            lines.append(f"No better than no regularization on test error here: {', '.join(worse)}.")
    if "l1" in rows and "l2" in rows:
        l1, l2 = rows["l1"]["near_zero_fraction"], rows["l2"]["near_zero_fraction"]
        lines.append(
            f"L1 leaves {l1:.1%} of weights near zero (|w| < {NEAR_ZERO:g}) against {l2:.1%} for L2 and "
            f"{rows.get('none', {}).get('near_zero_fraction', float('nan')):.1%} for none: "
            + (
                "L1 makes the network sparse, L2 only shrinks it."
                if l1 > l2
                else "L1 did not make it sparser here."
            )
        )
    ratio = details.get("steps_to_target", {}).get("ratio")
    if ratio is not None:
        lines.append(
            f"Batch norm reached the target validation accuracy in {ratio:.1f}× fewer steps (paper: 14×)."
        )
    return lines
