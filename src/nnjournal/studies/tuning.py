"""The lecture's staged tuning protocol (curriculum §2; `nnj study tuning RECIPE`, issue 14).

With ReLU, modified Xavier init, dropout 10% on the input and 50% on hidden layers, a small
ridge penalty, batches of 128 and Adam(0.9, 0.999) fixed:
  1. about 100 log-spaced learning rates, each trained for only 10-50 mini-batches;
  2. the weight decay: the ridge penalty's strength (`training.penalty.l2`, lambda * sum w^2 on
     weight matrices; the optimizer's own weight_decay is set to 0, so there is one L2 knob);
  3. the momentum: Adam's beta1 = 1 - v for about 100 values v log-spaced in [0.001, 0.1],
     judged by the loss after one epoch;
  4. the dropout rates of the input and the hidden layers, each setting trained fully.
Every stage keeps the setting with the lowest validation loss and hands it to the next. The
final configuration (the recipe with the protocol's settings and the four winners) is stage
4's winner, trained there by `train_one` as `nnj run` trains; it is written as `tuned.toml`,
and `nnj run tuned.toml` gives the same numbers (same seed, same call). The recipe as shipped
is trained beside it. The test split is never looked at by a stage: it is used once, at the
end, for those two models.

"Modified Xavier" is `model.init = "xavier"` with ReLU: Glorot's uniform init scaled by ReLU's
gain sqrt(2) (`models/init.py`), the variance Xavier's derivation gives when half the units
are off. Every model of a sweep starts from the same weights, sees the same batches and the
same dropout masks, so the swept value is the only difference between them."""

from __future__ import annotations

import copy
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal import data as data_mod
from nnjournal import models
from nnjournal.config import RunConfig, to_toml, validate_config
from nnjournal.data.bundle import DataBundle
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_text
from nnjournal.journal.plots import learning_curves
from nnjournal.journal.run_dir import create_run_dir
from nnjournal.studies.common import default_workers, study_setting, with_overrides, write_study
from nnjournal.tasks import Task, build_task, task_class
from nnjournal.training.guard import NonFiniteError
from nnjournal.training.seeding import seed_everything
from nnjournal.training.trainers import train_one
from nnjournal.training.vectorized import can_vectorize, fit_vectorized
from nnjournal.tuning import plots as tuning_plots

# Stage sizes. "epochs" caps the full trainings (the dropout stage, the final configuration and
# the recipe beside it); None = the recipe's own epochs and early stopping.
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "lr_values": 12, "lr_batches": 10, "l2_values": 6, "l2_epochs": 2, "momentum_values": 12,
        "dropout_input": [0.0, 0.1], "dropout_hidden": [0.2, 0.5], "epochs": 4,
    },
    "default": {
        "lr_values": 100, "lr_batches": 30, "l2_values": 30, "l2_epochs": 30, "momentum_values": 100,
        "dropout_input": [0.0, 0.1, 0.2], "dropout_hidden": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], "epochs": None,
    },
}
LR_RANGE = (1e-5, 1.0)
L2_RANGE = (1e-7, 1e-1)
V_RANGE = (1e-3, 1e-1)  # beta1 = 1 - v: from 0.9 (v = 0.1) to 0.999 (v = 0.001)
FIXED: dict[str, Any] = {
    "model": {"activation": "relu", "init": "xavier", "dropout_input": 0.1, "dropout_hidden": 0.5},
    "training": {
        "batch_size": 128,
        "optimizer": {"name": "adam", "betas": [0.9, 0.999], "weight_decay": 0.0},
        "penalty": {"l1": 0.0, "l2": 1e-5},
        "schedule": {"name": "none"},
    },
}
TOP_ROWS = 10


@dataclass
class Stage:
    """One stage: the swept values, each one's validation loss (and score), the winner."""

    key: str  # lr | l2 | beta1 | dropout
    values: list[Any]
    val_loss: list[float]
    val_score: list[float] | None
    chosen: Any
    epochs: int
    batches: int  # mini-batches each model trained for (at most, with early stopping)
    vectorized: bool
    seconds: float


def run_tuning(cfg: RunConfig, out: Path | str, quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if cfg.model.name != "mlp":
        raise NNJError(
            f"nnj study tuning follows the lecture's protocol for MLPs (its dropout and init settings); "
            f"this recipe's model is {cfg.model.name!r}"
        )
    profile = PROFILES[cfg.study.profile]
    epochs = study_setting(cfg, "epochs", PROFILES)
    bundle = data_mod.load(cfg.data, seed=cfg.seed, task=task_class(cfg.task).data_kind)
    task = build_task(cfg.task, bundle.info, bundle)
    bundle = task.prepare_data(bundle, cfg)
    if bundle.val is None or len(bundle.val) == 0:
        raise NNJError("nnj study tuning judges every stage on the validation split: set data.val_fraction > 0")
    recipe_cfg = plain_recipe(cfg, epochs)
    base = with_overrides(recipe_cfg, FIXED)
    run_dir = create_run_dir(out, f"{cfg.recipe}-tuning")  # after the checks: bad input leaves nothing
    steps = math.ceil(len(bundle.train) / base.training.batch_size)
    workers = cfg.study.workers or default_workers()

    def say(stage: Stage, what: str) -> None:
        if not quiet:
            print(f"  stage {what}: chose {_value_text(stage.key, stage.chosen)} in {stage.seconds:.1f} s", flush=True)  # noqa: T201

    lr_epochs = max(1, round(profile["lr_batches"] / steps))
    lr = sweep(base, bundle, task, "lr", _logspace(LR_RANGE, profile["lr_values"]), lr_epochs, steps)
    say(lr, "1 (learning rate)")
    base = with_overrides(base, setting("lr", lr.chosen, base))
    l2 = sweep(base, bundle, task, "l2", _logspace(L2_RANGE, profile["l2_values"]), profile["l2_epochs"], steps)
    say(l2, "2 (ridge penalty)")
    base = with_overrides(base, setting("l2", l2.chosen, base))
    v = _logspace(V_RANGE, profile["momentum_values"])
    momentum = sweep(base, bundle, task, "beta1", [1 - x for x in v], 1, steps)
    say(momentum, "3 (momentum)")
    base = with_overrides(base, setting("beta1", momentum.chosen, base))
    # The recipe as shipped trains in the same pool as the dropout grid: it is one more setting.
    dropout, results, recipe_run = dropout_stage(base, recipe_cfg, bundle, task, profile, steps, workers)
    say(dropout, "4 (dropout)")
    final_cfg = with_overrides(base, setting("dropout", dropout.chosen, base))
    final_cfg = final_cfg.model_copy(update={"recipe": f"{cfg.recipe}-tuned"})
    atomic_write_text(run_dir / "tuned.toml", to_toml(final_cfg.model_dump(mode="json")))
    final_run = results[dropout.values.index(dropout.chosen)]
    if recipe_run["model"] is None:
        raise NNJError("the recipe as shipped diverged (a non-finite loss): there is nothing to compare the tuning with")
    # The test split, once: the final configuration and the recipe.
    final_m = {"val": final_run["val_metrics"], "test": task.evaluate(final_run["model"], bundle.test)}
    recipe_m = {"val": recipe_run["val_metrics"], "test": task.evaluate(recipe_run["model"], bundle.test)}
    stages = {"lr": lr, "l2": l2, "beta1": momentum, "dropout": dropout}
    plots = stage_plots(stages, run_dir, task)
    learning_curves(
        {"recipe": recipe_run["history"].records, "tuned": final_run["history"].records},
        run_dir / "plots" / "final.png",
        {"recipe": recipe_run["history"].best_epoch, "tuned": final_run["history"].best_epoch},
    )
    plots.append({"file": "plots/final.png", "caption": "Learning curves of the recipe as shipped and the tuned configuration"})
    headline = task.headline
    blocks = report_blocks(cfg, base, bundle, stages, task, final_m, recipe_m, final_run, recipe_run)
    details = {
        "fixed": FIXED,
        "stages": {k: asdict(s) for k, s in stages.items()},
        "dropout_stage_val": [r["val_metrics"] for r in results],
        "tuned_toml": "tuned.toml",
        "final": {"metrics": final_m, "history": final_run["history"].to_dict()},
        "recipe": {"metrics": recipe_m, "history": recipe_run["history"].to_dict()},
        "workers": workers,
    }
    rows = {
        name: {f"val_{headline}": m["val"][headline], f"test_{headline}": m["test"][headline]}
        for name, m in (("recipe", recipe_m), ("tuned", final_m))
    }
    return write_study(
        cfg, out, started=started, elapsed=time.perf_counter() - t0,
        headline={"metric": f"val_{headline}", "variant": "tuned", "value": final_m["val"][headline]},
        rows=rows, blocks=blocks, plots=plots, conclusion=conclusion(stages, task, final_m, recipe_m),
        details=details, run_dir=run_dir,
    )


def plain_recipe(cfg: RunConfig, epochs: int | None) -> RunConfig:
    """The recipe as `nnj run` trains it: no study, search or variants; in the quick profile
    with `epochs` epochs."""
    raw = cfg.model_dump(mode="json", exclude={"study", "search", "variants"})
    if epochs is not None:
        raw["training"]["epochs"] = epochs
    return validate_config(raw)


def setting(key: str, value: Any, base: RunConfig) -> dict[str, Any]:
    """The partial recipe that sets one stage's value."""
    if key == "lr":
        return {"training": {"optimizer": {"lr": value}}}
    if key == "l2":
        return {"training": {"penalty": {"l2": value}}}
    if key == "beta1":
        return {"training": {"optimizer": {"betas": [value, base.training.optimizer.betas[1]]}}}
    if key == "dropout":
        return {"model": {"dropout_input": value[0], "dropout_hidden": value[1]}}
    raise ValueError(f"unknown stage {key!r}")


def _logspace(bounds: tuple[float, float], n: int) -> list[float]:
    return [float(x) for x in np.logspace(math.log10(bounds[0]), math.log10(bounds[1]), n)]


def sweep(
    base: RunConfig, bundle: DataBundle, task: Task, key: str, values: list[float], epochs: int, steps: int
) -> Stage:
    """One model per value of `key` (lr, l2 or beta1), everything else as `base`, trained for
    `epochs` from the same weights, batches and dropout masks, judged by the validation loss
    at the end. Vectorized (all models as one, `fit_vectorized` with a value per member);
    a model with batch norm, which vmap cannot train, goes one setting at a time."""
    t0 = time.perf_counter()
    short = with_overrides(base, {"training": {
        "epochs": epochs, "early_stopping": {"monitor": "val_loss", "patience": None, "restore_best": False},
    }})
    seed_everything(base.seed)
    net = models.build(short.model, bundle.info, task.out_features)
    vectorized = can_vectorize(net)
    if vectorized:
        nets = [copy.deepcopy(net) for _ in values]
        histories = fit_vectorized(
            nets, bundle.train, bundle.val, task=task, config=short.training, seeds=[base.seed] * len(nets),
            members={key: values}, randomness="same", keep_diverged=True,
        )
        last = [h.records[-1] for h in histories]
    else:
        last = []
        for value in values:
            try:
                last.append(train_one(with_overrides(short, setting(key, value, short)), bundle, task)[1].records[-1])
            except NonFiniteError:
                last.append({"val_loss": math.inf})
    losses = [float(r["val_loss"]) for r in last]
    score_key = f"val_{task.score_name}" if task.score_name else None
    scores = [float(r.get(score_key, math.nan)) for r in last] if score_key else None
    return Stage(key, values, losses, scores, values[_best(losses)], epochs, epochs * steps, vectorized,
                 time.perf_counter() - t0)


def _best(losses: list[float]) -> int:
    finite = [i for i, x in enumerate(losses) if math.isfinite(x)]
    if not finite:
        raise NNJError("every setting of a tuning stage diverged; check the recipe's data and model")
    return min(finite, key=lambda i: losses[i])


def dropout_stage(
    base: RunConfig, recipe: RunConfig, bundle: DataBundle, task: Task, profile: dict[str, Any], steps: int,
    workers: int,
) -> tuple[Stage, list[dict[str, Any]], dict[str, Any]]:
    """Stage 4: every pair of input and hidden dropout rates trained fully with the recipe's
    epochs and early stopping (on the validation loss, best epoch restored), judged by the
    restored model's validation loss; `recipe` (as shipped) trains alongside. A dropout rate is
    a module's attribute, not a tensor, so vmap cannot give each member its own: the settings
    train one by one (in `workers` forked processes), each by `train_one` as `nnj run` trains,
    so the winner is the final configuration trained. Returns the stage, each setting's run
    and the recipe's."""
    t0 = time.perf_counter()
    pairs = [(p, h) for p in profile["dropout_input"] for h in profile["dropout_hidden"]]
    stopping = {"monitor": "val_loss", "restore_best": True}
    settings = [
        with_overrides(base, {**setting("dropout", pair, base), "training": {"early_stopping": stopping}})
        for pair in pairs
    ]
    *results, recipe_run = _train_all([*settings, recipe], bundle, task, workers)
    losses = [r["val_loss"] for r in results]
    scores = [r["val_score"] for r in results] if task.score_name else None
    stage = Stage("dropout", pairs, losses, scores, pairs[_best(losses)], base.training.epochs,
                  base.training.epochs * steps, False, time.perf_counter() - t0)
    return stage, results, recipe_run


def _train_one_setting(cfg: RunConfig, bundle: DataBundle, task: Task) -> dict[str, Any]:
    """`train_one`, then the restored model's validation loss, score and metrics."""
    try:
        model, history = train_one(cfg, bundle, task)
    except NonFiniteError:
        return {"val_loss": math.inf, "val_score": math.nan, "val_metrics": {}, "model": None, "history": None}
    records = history.records
    best = next((r for r in records if r["epoch"] == history.best_epoch), records[-1])
    score = best.get(f"val_{task.score_name}", math.nan) if task.score_name else math.nan
    return {
        "val_loss": float(best["val_loss"]), "val_score": float(score),
        "val_metrics": task.evaluate(model, bundle.val), "model": model, "history": history,
    }


def _train_all(settings: list[RunConfig], bundle: DataBundle, task: Task, workers: int) -> list[dict[str, Any]]:
    """`_train_one_setting` for each, in order; in `workers` forked processes (one torch thread
    each) on Linux, as `studies.common.train_settings` does. Every training seeds itself, so
    the numbers do not depend on the process."""
    if workers <= 1 or len(settings) <= 1 or sys.platform != "linux":
        return [_train_one_setting(s, bundle, task) for s in settings]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(workers, len(settings)), mp_context=context, initializer=_one_thread) as pool:
        futures = [pool.submit(_train_one_setting, s, bundle, task) for s in settings]
        return [f.result() for f in futures]


def _one_thread() -> None:
    torch.set_num_threads(1)


# ---------------------------------------------------------------- the journal entry
STAGE_TEXT = {
    "lr": ("1. Learning rate", "learning rate", "lr"),
    "l2": ("2. Weight decay (ridge penalty)", "ridge penalty lambda (training.penalty.l2)", "lambda"),
    "beta1": ("3. Momentum (Adam's beta1 = 1 - v)", "v = 1 - beta1", "beta1"),
    "dropout": ("4. Dropout", "dropout (input, hidden)", "dropout (input, hidden)"),
}


def _value_text(key: str, value: Any) -> str:
    if key == "dropout":
        return f"{value[0]:g}, {value[1]:g}"
    if key == "beta1":
        return f"{value:.5g} (v = {1 - value:.3g})"
    return f"{value:.3g}"


def stage_plots(stages: dict[str, Stage], run_dir: Path, task: Task) -> list[dict[str, str]]:
    pdir = run_dir / "plots"
    out = []
    for key, s in stages.items():
        title, xlabel, _ = STAGE_TEXT[key]
        path = pdir / f"stage_{key}.png"
        if key == "dropout":
            grid = [(p, h, loss) for (p, h), loss in zip(s.values, s.val_loss, strict=True)]
            tuning_plots.dropout_plot(grid, s.chosen, title=title, path=path)
        else:
            xs = [1 - b for b in s.values] if key == "beta1" else s.values
            chosen = 1 - s.chosen if key == "beta1" else s.chosen
            tuning_plots.stage_plot(xs, s.val_loss, s.val_score, chosen, xlabel=xlabel, title=title, path=path,
                                    score_name=task.score_name, chosen_label=f"chosen {STAGE_TEXT[key][2]} = {_value_text(key, s.chosen)}")
        out.append({"file": f"plots/stage_{key}.png", "caption": f"{title}: validation loss per setting, the chosen one marked"})
    return out


def _stage_table(s: Stage, score: str | None) -> list[Any]:
    order = sorted(range(len(s.values)), key=lambda i: (not math.isfinite(s.val_loss[i]), s.val_loss[i]))
    rows = [
        [str(rank + 1), _value_text(s.key, s.values[i]), f"{s.val_loss[i]:.4f}"]
        + ([f"{s.val_score[i]:.4f}"] if s.val_score is not None else [])
        + (["chosen"] if s.values[i] == s.chosen else [""])
        for rank, i in enumerate(order[:TOP_ROWS])
    ]
    head = ["rank", STAGE_TEXT[s.key][2], "val loss"] + ([f"val {score}"] if s.val_score is not None else []) + [""]
    return ["table", head, rows]


def report_blocks(
    cfg: RunConfig, base: RunConfig, bundle: DataBundle, stages: dict[str, Stage], task: Task,
    final_m: dict[str, Any], recipe_m: dict[str, Any], final_run: dict[str, Any], recipe_run: dict[str, Any],
) -> list[Any]:
    t = base.training
    diverged = {k: sum(not math.isfinite(x) for x in s.val_loss) for k, s in stages.items()}
    how = {
        "lr": f"{len(stages['lr'].values)} learning rates log-spaced in [{LR_RANGE[0]:g}, {LR_RANGE[1]:g}], each "
        f"trained for {stages['lr'].batches} mini-batches ({stages['lr'].epochs} epoch(s)), judged by the "
        "validation loss at the end",
        "l2": f"{len(stages['l2'].values)} strengths log-spaced in [{L2_RANGE[0]:g}, {L2_RANGE[1]:g}], "
        f"{stages['l2'].epochs} epochs ({stages['l2'].batches} mini-batches) each at the chosen learning rate",
        "beta1": f"{len(stages['beta1'].values)} values v log-spaced in [{V_RANGE[0]:g}, {V_RANGE[1]:g}], "
        "beta1 = 1 - v, judged by the validation loss after one epoch",
        "dropout": f"{len(stages['dropout'].values)} (input, hidden) pairs, each trained fully (at most "
        f"{stages['dropout'].epochs} epochs, early stopping on the validation loss, best epoch restored)",
    }
    blocks: list[Any] = [
        ["h2", "What was run"],
        ["ul", [
            f"Data: {bundle.describe()}; every stage is judged on the validation split only.",
            f"Fixed by the protocol: MLP {base.model.hidden}, ReLU, modified Xavier init (Glorot scaled by "
            "ReLU's gain sqrt 2), dropout 10% input / 50% hidden until stage 4, ridge penalty "
            f"{FIXED['training']['penalty']['l2']:g} until stage 2, batches of {t.batch_size}, "
            "Adam(0.9, 0.999) until stage 3, no schedule.",
            "Every model of a stage starts from the same weights (seed "
            f"{cfg.seed}) with the same batches and dropout masks; the winner of each stage is fixed for the next.",
        ]],
    ]
    for key, s in stages.items():
        where = "vectorized (all models trained as one)" if s.vectorized else "not vectorized (one model per setting)"
        blocks += [
            ["h2", STAGE_TEXT[key][0]],
            ["p", f"{how[key]}; {where}, {s.seconds:.1f} s. Chosen: {_value_text(key, s.chosen)}"
             + (f"; {diverged[key]} setting(s) diverged (non-finite loss)." if diverged[key] else ".")],
            _stage_table(s, task.score_name),
        ]
    shown = [m for m in task.report_metrics if m in final_m["val"]]
    rows = [
        [name, split, *(f"{m[split][k]:.4f}" for k in shown)]
        for name, m in (("recipe as shipped", recipe_m), ("tuned", final_m)) for split in ("val", "test")
    ]
    epochs = {n: (len(r["history"].records), r["history"].best_epoch) for n, r in (("recipe", recipe_run), ("tuned", final_run))}
    blocks += [
        ["h2", "The final configuration beside the recipe"],
        ["p", "The tuned configuration is `tuned.toml`: stage 4's winner, trained as `nnj run tuned.toml` "
         f"trains it ({epochs['tuned'][0]} epochs, best epoch {epochs['tuned'][1]} restored); `nnj run tuned.toml` "
         f"gives these numbers and saves the model. The recipe as shipped beside it ({epochs['recipe'][0]} "
         f"epochs, best {epochs['recipe'][1]}), trained the same way. The test split is used here, once."],
        ["table", ["model", "split", *shown], rows],
    ]
    return blocks


def conclusion(stages: dict[str, Stage], task: Task, final_m: dict[str, Any], recipe_m: dict[str, Any]) -> list[str]:
    m = task.headline
    s1, s2, s3, s4 = stages["lr"], stages["l2"], stages["beta1"], stages["dropout"]
    lines = [
        f"Stage 1 chose a learning rate of {s1.chosen:.3g} (validation loss {min(x for x in s1.val_loss):.4f} after "
        f"{s1.batches} mini-batches); stage 2 a ridge penalty of {s2.chosen:.3g}; stage 3 beta1 = {s3.chosen:.4g} "
        f"(v = {1 - s3.chosen:.3g}); stage 4 dropout {s4.chosen[0]:g} on the input and {s4.chosen[1]:g} on hidden layers.",
    ]
    edges = [STAGE_TEXT[s.key][2] for s in (s1, s2, s3) if s.chosen in (s.values[0], s.values[-1])]
    if edges:
        lines.append(
            f"The chosen {', '.join(edges)} lie(s) at the edge of the swept range: the best value may be beyond it."
        )
    fv, rv = final_m["val"][m], recipe_m["val"][m]
    better = fv > rv if task.directions.get(m, "max") == "max" else fv < rv
    verdict = "better than" if better else ("equal to" if fv == rv else "worse than")
    lines.append(
        f"The tuned configuration reaches validation {m} {fv:.4f}, {verdict} the recipe's {rv:.4f}; on the test "
        f"split, looked at once, {final_m['test'][m]:.4f} against {recipe_m['test'][m]:.4f}."
    )
    return lines
