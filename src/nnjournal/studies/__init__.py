"""Studies: many trainings compared in one journal entry (`nnj study NAME`, or a recipe with a
`[study]` table). Each study is one module named after the lecture topic it draws."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from nnjournal.config import RunConfig


def _regularization(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.regularization import run_regularization

    return run_regularization(cfg, out, quiet)


def _capacity(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.capacity import run_capacity

    return run_capacity(cfg, out, quiet)


def _gd_regimes(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.gd_regimes import run_gd_regimes

    return run_gd_regimes(cfg, out, quiet)


def _rnn_gradients(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.rnn_gradients import run_rnn_gradients

    return run_rnn_gradients(cfg, out, quiet)


# -- issue 15: the deep-network pathology studies
def _gradients(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.gradients import run_gradients

    return run_gradients(cfg, out, quiet)


def _init(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.init import run_init

    return run_init(cfg, out, quiet)


# -- issue 14: the lecture's staged tuning protocol
def _tuning(cfg: RunConfig, out: Path | str, quiet: bool) -> tuple[Path, dict[str, Any]]:
    from nnjournal.studies.tuning import run_tuning

    return run_tuning(cfg, out, quiet)


# study name -> runner(config, output folder, quiet) -> (run directory, summary)
STUDIES: dict[str, Callable[[RunConfig, Path | str, bool], tuple[Path, dict[str, Any]]]] = {
    "regularization": _regularization,
    "capacity": _capacity,
    "gd-regimes": _gd_regimes,
    "rnn-gradients": _rnn_gradients,
    "gradients": _gradients,  # issue 15
    "init": _init,  # issue 15
    "tuning": _tuning,  # issue 14: `nnj study tuning RECIPE`
}


def recipe_for(name: str) -> str:
    """The built-in recipe behind `nnj study NAME` (without a RECIPE argument)."""
    return f"{name}-study"


def run_study(cfg: RunConfig, out: Path | str = "runs", quiet: bool = True) -> tuple[Path, dict[str, Any]]:
    """Run the study a recipe's `[study]` table names and write its journal entry."""
    if cfg.study is None:
        raise ValueError("this recipe has no [study] table")
    from nnjournal.tasks import task_class

    trainer = getattr(task_class(cfg.task), "trainer", "supervised")
    if trainer != "supervised":  # each study sets supervised-only options (init, regime, early stopping, ...)
        from nnjournal.errors import NNJError

        raise NNJError(
            f"nnj study {cfg.study.name} compares models trained by the supervised trainer; {cfg.recipe!r} trains "
            f"with the {trainer} trainer (a GAN), which none of the studies takes: study an MLP or CNN recipe "
            "(e.g. digits-mlp), or compare GAN settings as [variants] of one `nnj run`"
        )
    # Studies train many small models. Intra-op threads cost more in synchronisation than they
    # save at this size: one step of the study's MLP took 2 ms on one thread and 36 ms on two
    # on a busy 2-core machine (both cores shared with other jobs).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return STUDIES[cfg.study.name](cfg, out, quiet)
    finally:
        torch.set_num_threads(threads)
