"""`nnj debug RECIPE`: one journal entry with every debugging check on the recipe's model —
overfit a tiny batch, gradient check, activation and gradient statistics before and after a
short training, and the worst mistakes of the trained model."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

import nnjournal
from nnjournal import data as data_mod
from nnjournal import models, recipes
from nnjournal.config import RunConfig, deep_merge, to_toml, validate_config
from nnjournal.data.bundle import Split
from nnjournal.debugging.activations import activation_stats, gradient_stats, stats_table
from nnjournal.debugging.gradient_check import check_task_gradients
from nnjournal.debugging.mistakes import is_image, mistakes_table, worst_mistakes
from nnjournal.debugging.overfit import TARGET, overfit_tiny_batch
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_json, atomic_write_text
from nnjournal.journal import debug_plots
from nnjournal.journal.report import Block, render_report
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.journal.site import write_index
from nnjournal.tasks import build_task, task_class
from nnjournal.training.seeding import seed_everything, select_device
from nnjournal.training.trainers import train_one

PROFILES = {"quick": {"epochs": 5, "steps": 1000}, "default": {"epochs": None, "steps": 2000}}
STATS_SAMPLE = 2000  # training inputs the activation statistics are taken on


def run_debug(
    recipe: str | Path | RunConfig,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    out: Path | str = "runs",
    profile: str = "quick",
    model_hook: Callable[[nn.Module], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run every check on the recipe's model (its first variant) and write the entry. The
    quick profile trains at most 5 epochs. `model_hook(model)` is applied to each freshly
    built model (e.g. to force units dead and see the report say so)."""
    # Small models, as in the studies: one intra-op thread is faster than two on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_debug(recipe, overrides, out, profile, model_hook)
    finally:
        torch.set_num_threads(threads)


def _check_supported(cfg: RunConfig, task: Any) -> None:
    """Refuse, before the run directory exists, a recipe the checks cannot run on: every check
    calls the task's one training step, which the adversarial (GAN) trainer does not have."""
    if task.trainer != "supervised":
        raise NNJError(
            f"nnj debug checks a model trained on one loss by the supervised trainer; {cfg.recipe!r} trains "
            f"with the {task.trainer} trainer (a GAN's two players), so its overfit, gradient and mistake "
            "checks do not apply: watch its d_loss / g_loss, D(x) and D(G(z)) in `nnj run`'s report instead"
        )


def _run_debug(
    recipe: str | Path | RunConfig,
    overrides: list[str] | tuple[str, ...],
    out: Path | str,
    profile: str,
    model_hook: Callable[[nn.Module], None] | None,
) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = recipe if isinstance(recipe, RunConfig) else recipes.load(recipe, overrides)
    variant, cfg = next(iter(base.variant_configs().items()))
    settings = PROFILES[profile]
    epochs = cfg.training.epochs if settings["epochs"] is None else min(cfg.training.epochs, settings["epochs"])
    cfg = validate_config(
        deep_merge(
            cfg.model_dump(mode="json", exclude={"study", "variants"}),
            {"training": {"epochs": epochs, "log_grad_norms": True, "log_activation_stats": True}},
        )
    )
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    task = build_task(cfg.task, bundle.info, bundle)
    _check_supported(cfg, task)
    bundle = task.prepare_data(bundle, cfg)
    if type(bundle.train).batch_indices is not Split.batch_indices:  # as `--nproc` refuses them
        raise NNJError(
            f"nnj debug trains on 32 shuffled training examples; {cfg.recipe!r} reads its data as ordered "
            "streams (truncated BPTT), which cannot be shuffled or cut to 32 rows: debug it with `nnj run` "
            "and training.log_grad_norms / training.log_activation_stats = true instead"
        )
    run_dir = create_run_dir(out, f"{cfg.recipe}-debug")
    pdir = run_dir / "plots"

    def fresh() -> nn.Module:
        seed_everything(cfg.seed)
        m = models.build(cfg.model, bundle.info, task.out_features)
        if model_hook is not None:
            model_hook(m)
        return m

    blocks: list[Block] = []
    plots: list[dict[str, str]] = []
    conclusion: list[str] = []

    # 1. overfit a tiny batch
    fit_result = overfit_tiny_batch(cfg, bundle, task, steps=settings["steps"], model_hook=model_hook)
    debug_plots.loss_curve(fit_result.losses, "Tiny batch: training loss per step", pdir / "overfit.png")
    blocks += [
        ("h2", "Overfit a tiny batch"),
        ("p", f"{fit_result.examples} training examples, regularization off (dropout, noise, penalties, weight "
              f"decay, augmentation, early stopping), {fit_result.steps} full-batch steps with the recipe's "
              f"optimizer. A correct model and training loop memorise them."),
        ("table", ["examples", "steps", "first loss", "last loss", fit_result.score_name, "verdict"],
         [[str(fit_result.examples), str(fit_result.steps), f"{fit_result.first_loss:.4g}",
           f"{fit_result.last_loss:.4g}", f"{fit_result.score:.4f}", "memorised" if fit_result.passed else "FAILED"]]),
        ("img", "plots/overfit.png", "Training loss on the tiny batch per full-batch step (log scale)"),
    ]
    if fit_result.recipe_lr_score is not None:
        blocks.append(("p", "At the recipe's learning rate it did not memorise the batch; the numbers point to "
                            "the learning rate: " + "; ".join(fit_result.diagnosis) + "."))
    if fit_result.passed:
        conclusion.append(
            f"Overfit check passed: {fit_result.score_name} {fit_result.score:.4f} on {fit_result.examples} examples "
            f"(loss {fit_result.first_loss:.3g} -> {fit_result.last_loss:.3g}, lr {fit_result.lr:g}), so the model, loss and "
            "optimizer can learn" + (f"; at the recipe's lr it reached only {fit_result.recipe_lr_score:.4f}" if fit_result.recipe_lr_score is not None else "") + "."
        )
    else:
        conclusion.append(
            f"Overfit check FAILED: {fit_result.score_name} {fit_result.score:.4f} < {TARGET} on {fit_result.examples} "
            f"examples. The numbers point to: " + "; ".join(fit_result.diagnosis) + "."
        )

    # 2. gradient check
    gc_batch = bundle.train.take(torch.arange(min(8, len(bundle.train))))
    gc = check_task_gradients(fresh(), task, gc_batch)
    headers, rows = gc.table()
    blocks += [
        ("h2", "Gradient check"),
        ("p", "Autograd's gradient of the training loss against central differences in float64, on sampled "
              f"entries of every parameter tensor ({len(gc_batch)} training examples, dropout and sampling frozen "
              "by a seed). Relative error |a - n| / (|a| + |n|); above 1e-5 the backward is wrong."),
        ("table", headers, rows),
    ]
    worst = max((r.max_rel_error for r in gc.rows), default=0.0)
    conclusion.append(
        f"Gradient check passed on all {len(gc.rows)} parameter tensors (largest relative error {worst:.1e})."
        if gc.passed
        else f"Gradient check FAILED in {', '.join(gc.failed_layers)} (largest relative error {worst:.1e}): "
        "its backward does not match its forward."
    )

    # 3. train, with activation and gradient statistics before and after
    model = fresh()
    x_stats = bundle.train.x[:STATS_SAMPLE]
    before = activation_stats(model, x_stats, histograms=True)
    model, history = train_one(cfg, bundle, task, model=model)
    after = activation_stats(model, x_stats, histograms=True)
    grad_batch = bundle.train.take(torch.arange(min(256, len(bundle.train))))
    model.train()
    grads = gradient_stats(model, task.training_step(model, grad_batch, None).loss, histograms=True)
    model.eval()
    blocks += [("h2", "Activation and gradient statistics"),
               ("p", f"The recipe trained for {len(history.records)} epoch(s); outputs of each activation layer on "
                     f"{len(x_stats)} training inputs. Dead: ReLU units (channels for convolutions) that never "
                     "fire on any of them; saturated: sigmoid outputs below 0.01 or above 0.99, |tanh| above 0.99.")]
    for label, stats in (("at initialisation", before), ("after training", after)):
        h, r = stats_table(stats)
        blocks += [("p", f"Activations {label}:"), ("table", h, r)]
    if before:
        for label, stats, f in (("at initialisation", before, "act_hist_init.png"), ("after training", after, "act_hist_end.png")):
            debug_plots.histograms({n: s["hist"] for n, s in stats.items()}, f"Activations {label}", pdir / f)
            plots.append({"file": f"plots/{f}", "caption": f"Histogram of each activation layer's outputs {label}"})
        debug_plots.activation_stats_curves(history.records, "Dead / saturated share per epoch", pdir / "act_stats.png")
        plots.append({"file": "plots/act_stats.png", "caption": "Dead share (ReLU) or saturated share (sigmoid/tanh) of each layer per epoch"})
    blocks.append(("table", ["weight", "gradient norm", "gradient / weight norm"],
                   [[n, f"{g['norm']:.3e}", f"{g['ratio']:.3e}"] for n, g in grads.items()]))
    if grads:
        debug_plots.histograms({n: g["hist"] for n, g in grads.items()}, "Weight gradients after training", pdir / "grad_hist.png")
        plots.append({"file": "plots/grad_hist.png", "caption": "Histogram of each weight tensor's gradient on 256 training examples"})
    if "grad_norm" in history.records[0]:
        from nnjournal.journal.plots import grad_norms

        grad_norms(history.records, "Gradient norm per layer", pdir / "grad_norms.png")
        plots.append({"file": "plots/grad_norms.png", "caption": "Per-layer RMS gradient norm per epoch"})
    for name, s in after.items():
        if s["dead"] is not None and s["dead"] > 0:
            conclusion.append(f"{name}: {s['dead']:.0%} of its {s['units']} ReLU units are dead after training (never fire on the training inputs).")
        if s["saturated"] is not None and s["saturated"] > 0.2:
            conclusion.append(f"{name}: {s['saturated']:.0%} of its outputs are saturated; gradients through them vanish.")

    # 4. worst mistakes
    split_name = "val" if bundle.val is not None and len(bundle.val) else "train"
    m = worst_mistakes(model, task, getattr(bundle, split_name))
    blocks += [("h2", "Worst mistakes"), ("p", f"The {len(m['index'])} {split_name}-split examples with the highest loss.")]
    if is_image(m["x"]):
        titles = [
            (f"{m['true'][j]}->{m['predicted'][j]} {m['confidence'][j]:.2f}" if "predicted" in m else f"loss {m['loss'][j]:.3g}")
            for j in range(len(m["index"]))
        ]
        debug_plots.mistakes_grid(m["x"], titles, pdir / "mistakes.png", m.get("output"))
        blocks.append(("img", "plots/mistakes.png", "Highest-loss examples: true -> predicted and confidence (or the reconstruction below)"))
    h, r = mistakes_table(m, bundle.info.feature_names, bundle.info.class_names)
    blocks.append(("table", h, r))

    summary = {
        "recipe": f"{cfg.recipe}-debug",
        "title": f"Debugging {cfg.recipe}" + (f" ({variant})" if len(base.variants) else ""),
        "aim": "Check that the model can learn (overfit a tiny batch), that its gradients are right, that its units "
               "are alive and not saturated, and read its worst mistakes (curriculum §5).",
        "seed": cfg.seed,
        "task": cfg.task.name,
        "study": {"name": "debug", "profile": profile},
        "debug": {
            "overfit": {"score_name": fit_result.score_name, "score": fit_result.score, "passed": fit_result.passed,
                        "first_loss": fit_result.first_loss, "last_loss": fit_result.last_loss,
                        "diagnosis": fit_result.diagnosis},
            "gradient_check": {"passed": gc.passed, "failed_layers": gc.failed_layers,
                               "rows": {r.name: r.max_rel_error for r in gc.rows}},
            "activations": {"init": _no_hist(before), "trained": _no_hist(after)},
            "worst": {"index": m["index"], "loss": m["loss"]},
        },
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(select_device(cfg.training.device)),
        "headline": {"metric": fit_result.score_name, "variant": "tiny batch", "value": fit_result.score},
        "variants": {},
        "baselines": {},
        "plots": plots,
        "conclusion": conclusion,
        "report_blocks": [list(b) for b in blocks],
        "timings": {"total_s": time.perf_counter() - t0},
        "versions": {"nnjournal": nnjournal.__version__, "torch": torch.__version__, "python": platform.python_version()},
    }
    atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
    atomic_write_json(run_dir / "summary.json", summary)
    render_report(run_dir)
    write_index(run_dir.parent)
    return run_dir, summary


def _no_hist(stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n: {k: v for k, v in s.items() if k != "hist"} for n, s in stats.items()}
