"""`nnj lr-find RECIPE`: the learning-rate range test on the recipe's model and training data,
written as a small journal entry (a plot with both suggestions marked and a table)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnjournal import data as data_mod
from nnjournal import models, recipes
from nnjournal.config import RunConfig, to_toml
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_json, atomic_write_text
from nnjournal.journal.report import render_report
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.journal.site import write_index
from nnjournal.tasks import build_task, task_class
from nnjournal.training.lr_finder import RangeTest, lr_range_test
from nnjournal.training.optim import make_optimizer
from nnjournal.training.seeding import seed_everything, select_device


def find_lr(
    cfg: RunConfig, *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100
) -> tuple[RangeTest, Any]:
    """The range test on `cfg`'s freshly built model (seeded with `cfg.seed`) and its training
    split, with the recipe's optimizer and batch size. Returns (result, model)."""
    kind = task_class(cfg.task)
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=kind.data_kind)
    task = build_task(cfg.task, bundle.info, bundle)
    if task.trainer != "supervised":  # its loop calls task.training_step, which a GAN does not have
        raise NNJError(
            f"nnj lr-find sweeps the learning rate of one optimizer on one loss; {cfg.recipe!r} trains with the "
            f"{task.trainer} trainer (two players): tune training.adversarial.lr_d / lr_g with nnj run instead. "
            "lr-find takes recipes of the supervised trainer (classification, regression, autoencoders, sequences)"
        )
    bundle = task.prepare_data(bundle, cfg)
    seed_everything(cfg.seed)
    model = models.build(cfg.model, bundle.info, task.out_features).to(select_device(cfg.training.device))
    optimizer = make_optimizer(model.parameters(), cfg.training.optimizer)
    result = lr_range_test(
        model, optimizer, bundle.train, task, start_lr=start_lr, end_lr=end_lr, steps=steps,
        batch_size=cfg.training.batch_size, seed=cfg.seed,
    )
    return result, model


def run_lr_find(
    recipe: str | Path, overrides: list[str], *, out: Path | str = "runs", start_lr: float = 1e-7,
    end_lr: float = 10.0, steps: int = 100,
) -> tuple[Path, RangeTest]:
    """Run the range test and write its journal entry under `out`; returns (run_dir, result)."""
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cfg = recipes.load(recipe, overrides)
    result, _ = find_lr(cfg, start_lr=start_lr, end_lr=end_lr, steps=steps)
    run_dir = create_run_dir(out, f"{cfg.recipe}-lr-find")
    atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
    from nnjournal.tuning.plots import lr_range_plot

    lr_range_plot(result, run_dir / "plots" / "lr_range.png")
    opt = cfg.training.optimizer
    rows = [
        ["steepest descent of the smoothed loss", _fmt(result.steepest)],
        ["minimum of the smoothed loss / 10", _fmt(result.min_over_10)],
        [f"the recipe's rate ({opt.name})", f"{opt.lr:.3g}"],
    ]
    blocks: list[list[Any]] = [
        ["h2", "What was run"],
        [
            "p",
            f"The learning-rate range test: {len(result.lrs)} mini-batches of {cfg.training.batch_size} "
            f"training examples with {opt.name}, the rate growing geometrically from {start_lr:g} to "
            f"{end_lr:g} over {steps} steps; the loss is smoothed by a bias-corrected moving average "
            f"(weight 0.9: about the last ten steps). Stopped: {result.stopped}. Weights and optimizer were restored afterwards.",
        ],
        ["h2", "Suggested learning rates"],
        ["table", ["rule", "learning rate"], rows],
    ]
    summary = {
        "recipe": cfg.recipe,
        "title": f"Learning-rate range test: {cfg.recipe}",
        "aim": "Find a learning rate from the loss's response to an exponentially growing rate.",
        "seed": cfg.seed,
        "task": cfg.task.name,
        "kind": "lr-find",
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(select_device(cfg.training.device)),
        "headline": None,
        "variants": {},
        "baselines": {},
        "lr_find": result.to_dict(),
        "plots": [{"file": "plots/lr_range.png", "caption": "Loss against learning rate, both suggestions marked"}],
        "conclusion": [_conclusion(result, opt.lr)],
        "report_blocks": blocks,
        "timings": {"total_s": time.perf_counter() - t0},
    }
    atomic_write_json(run_dir / "summary.json", summary)
    render_report(run_dir)
    write_index(run_dir.parent)
    return run_dir, result


def _fmt(lr: float | None) -> str:
    return "none (too few steps)" if lr is None else f"{lr:.3g}"


def _conclusion(result: RangeTest, recipe_lr: float) -> str:
    if result.steepest is None:
        return "Too few steps were taken to suggest a rate; widen the sweep or lower --start."
    return (
        f"Start from {result.steepest:.3g} (steepest descent); {_fmt(result.min_over_10)} (minimum / 10) is "
        f"the more cautious reading. The recipe uses {recipe_lr:.3g}."
    )
