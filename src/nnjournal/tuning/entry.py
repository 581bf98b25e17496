"""The journal entry of `nnj tune`: the trials table, Optuna's optimisation history, parameter
importances and parallel-coordinate plot, then the best configuration retrained once with the
recipe's seed and tested (the only time the test split is used), and `best.toml`, which
`nnj run best.toml` reproduces exactly."""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nnjournal.config import RunConfig, to_toml, validate_config
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_json, atomic_write_text
from nnjournal.journal.report import render_report
from nnjournal.journal.site import write_index
from nnjournal.training.seeding import select_device
from nnjournal.tuning.objective import decoded_params
from nnjournal.tuning.space import base_raw, with_params


def best_config(cfg: RunConfig, params: dict[str, Any]) -> RunConfig:
    """The recipe with the best trial's parameters, without `[search]`: one plain run."""
    return validate_config(with_params(base_raw(cfg), decoded_params(params, cfg.search)))


def write_tune_entry(
    run_dir: Path, cfg: RunConfig, study: Any, trials: list[Any], metric: str, way: str, *,
    started: str, t0: float, search_s: float, workers: int, storage: str, quiet: bool,
) -> tuple[dict[str, Any], RunConfig]:
    import optuna

    from nnjournal.experiment import run as run_recipe

    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise NNJError(f"no trial of the {len(trials)} run completed (all pruned or failed): widen the search")
    pick = min if way == "minimize" else max
    best = pick(done, key=lambda t: t.value)
    final_cfg = best_config(cfg, best.params)
    atomic_write_text(run_dir / "config.toml", to_toml(cfg.model_dump(mode="json")))
    retrained = run_recipe(final_cfg, out=run_dir / "best", quiet=quiet)
    # Only once the retraining finished: a best.toml in the folder means the search is done.
    atomic_write_text(run_dir / "best.toml", to_toml(final_cfg.model_dump(mode="json")))
    variant = next(iter(retrained.variants.values()))
    plots = _plots(run_dir, study)
    rows = [_trial_row(t, cfg) for t in trials]
    cv = cfg.search.cv
    value_head = f"val {metric}" + (f" ({cv}-fold mean ± sd)" if cv > 1 else "")
    states = {s: sum(t.state.name == s for t in trials) for s in ("COMPLETE", "PRUNED", "FAIL")}
    params_text = ", ".join(f"{p} = {v!r}" for p, v in decoded_params(best.params, cfg.search).items())
    val = variant.metrics.get("val", {})
    test = variant.metrics["test"]
    blocks: list[list[Any]] = [
        ["h2", "What was searched"],
        ["ul", [f"{p}: {_describe_dim(d)}" for p, d in cfg.search.space.items()]],
        [
            "p",
            f"Sampler {cfg.search.sampler}, pruner {cfg.search.pruner}, {len(trials)} trials "
            f"({states['COMPLETE']} complete, {states['PRUNED']} pruned, {states['FAIL']} failed) in "
            f"{search_s:.1f} s on {workers} worker(s); storage {storage}. Each trial trains with a seed "
            "drawn from the study seed and its number and is scored on the validation split"
            + (f" by {cv}-fold cross-validation of train + validation" if cv > 1 else "")
            + "; no trial sees the test split.",
        ],
        ["h2", "Trials"],
        ["table", ["trial", "state", value_head, *cfg.search.space, "epochs", "seconds"], rows],
        ["h2", "Best configuration, retrained and tested once"],
        [
            "p",
            f"Trial {best.number}: {params_text}; val {metric} {best.value:.4f}. Retrained with the recipe's "
            f"seed {cfg.seed}: val {metric} {val.get(metric, float('nan')):.4f}, test {metric} "
            f"{test.get(metric, float('nan')):.4f} (its own entry: `{retrained.run_dir.relative_to(run_dir)}`). "
            "`nnj run best.toml` reproduces these numbers.",
        ],
        ["table", ["split", *test], [[s, *(f"{m[k]:.4f}" for k in test)] for s, m in variant.metrics.items()]],
    ]
    summary = {
        "recipe": cfg.recipe,
        "title": f"Hyperparameter search: {cfg.recipe}",
        "aim": f"Search {', '.join(cfg.search.space)} for the best validation {metric}.",
        "seed": cfg.seed,
        "task": cfg.task.name,
        "kind": "tune",
        "started_at": started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(select_device(cfg.training.device)),
        "headline": {"metric": metric, "variant": "best", "value": test.get(metric)},
        "variants": {"best": {"test": test, "val": val}},
        "baselines": {},
        "search": {
            "metric": metric,
            "direction": way,
            "study_name": study.study_name,
            "storage": storage,
            "workers": workers,
            "search_s": search_s,
            "trials": [_trial_record(t) for t in trials],
            "best_trial": {"number": best.number, "value": best.value, "params": best.params},
            "best_params": decoded_params(best.params, cfg.search),
            "retrained": {"run_dir": str(retrained.run_dir), "metrics": variant.metrics},
        },
        "plots": plots,
        "conclusion": [
            f"The best of {states['COMPLETE']} completed trials reached val {metric} {best.value:.4f}; "
            f"retrained once it scores test {metric} {test.get(metric, float('nan')):.4f}."
        ],
        "report_blocks": blocks,
        "timings": {"total_s": time.perf_counter() - t0, "search_s": search_s},
    }
    atomic_write_json(run_dir / "summary.json", summary)
    render_report(run_dir)
    write_index(run_dir.parent)
    return summary, final_cfg


def _describe_dim(d: Any) -> str:
    if d.choices is not None:
        return "one of " + ", ".join(repr(c) for c in d.choices)
    scale = "log scale" if d.log else "linear" + (f", step {d.step}" if d.step else "")
    return f"{'integer' if d.is_int else 'real'} in [{d.low}, {d.high}], {scale}"


def _trial_row(t: Any, cfg: RunConfig) -> list[str]:
    value = "" if t.value is None else f"{t.value:.4f}"
    if value and "cv_std" in t.user_attrs:
        value += f" ± {t.user_attrs['cv_std']:.4f}"
    params = decoded_params(t.params, cfg.search)
    cells = [_cell(params.get(p, "")) for p in cfg.search.space]
    seconds = t.duration.total_seconds() if t.duration is not None else float("nan")
    return [str(t.number), t.state.name.lower(), value, *cells, str(t.user_attrs.get("epochs", "")), f"{seconds:.1f}"]


def _cell(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _trial_record(t: Any) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.name,
        "value": t.value,
        "params": t.params,
        "user_attrs": t.user_attrs,
        "duration_s": t.duration.total_seconds() if t.duration is not None else None,
    }


def _plots(run_dir: Path, study: Any) -> list[dict[str, str]]:
    """Optuna's own matplotlib figures; one that cannot be drawn (importances need two
    completed trials and a parameter that varies) is left out with a warning in the log."""
    import logging

    from optuna.visualization import matplotlib as ov

    from nnjournal.journal.plots import plt, save

    figures = [
        ("history", ov.plot_optimization_history, "Optimisation history: each trial's value and the best so far"),
        ("importances", ov.plot_param_importances, "Parameter importances (fANOVA)"),
        ("parallel", ov.plot_parallel_coordinate, "Parallel coordinates: each trial's parameters and value"),
    ]
    out = []
    for name, draw, caption in figures:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = draw(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            logging.getLogger("nnjournal").warning("tune: no %s plot (%s)", name, err)
            plt.close("all")
            continue
        fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
        fig.set_size_inches(8, 4.5)
        save(fig, run_dir / "plots" / f"{name}.png")
        out.append({"file": f"plots/{name}.png", "caption": caption})
    return out
