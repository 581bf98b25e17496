"""`nnj run RECIPE --nproc N`: the recipe trained by N data-parallel processes (issue 17).

The launcher (`run_data_parallel`, in the `nnj` process) checks everything a user could get
wrong before any process starts, so a refusal is one line and nothing is written, then runs
torchrun (`torch.distributed.run`) in-process: N workers on this machine, a free port, no
restarts. Each worker (`python -m nnjournal.training.launch SPEC`) joins the process group
(gloo on the CPU, nccl on CUDA) and trains every variant of the recipe in the same order;
rank 0 runs `experiment.run` as one process would (run directory, metrics.jsonl,
checkpoints, evaluation, journal entry), the others `train_one` only and write nothing.
`fit`'s four data-parallel calls (training/distributed.py) make the processes one global
batch of `training.batch_size` rows.

A worker's `NNJError` (a diverged run, an interruption) is written to an error file and
becomes the launcher's one line; rank 0's `mark_failed` marks its run directory failed.
Ctrl-C and SIGTERM: torchrun's agent (in the `nnj` process) passes the signal to the workers
(each in its own session); the other ranks ignore it and rank 0 stops as one process would
(its checkpoint saved, exit 130, resumable in one process); the others end when it leaves the
process group.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nnjournal.data.bundle import DataBundle, Split
from nnjournal.errors import NNJError
from nnjournal.tasks import Task

log = logging.getLogger("nnjournal")


def run_data_parallel(
    recipe: str,
    overrides: list[str],
    *,
    out: Path,
    seed: int | None,
    quiet: bool,
    resume: Path | None,
    nproc: int,
) -> tuple[Path, dict[str, Any]]:
    """Train `recipe` in `nproc` processes; returns (run directory, summary) written by rank 0."""
    from nnjournal import experiment
    from nnjournal.journal.run_dir import read_summary
    from nnjournal.training.seeding import select_device

    if nproc < 1:
        raise NNJError(f"--nproc must be at least 1, got {nproc}")
    if resume is not None:
        raise NNJError(
            "--resume with --nproc: resume the run in one process (nnj run --resume DIR); its checkpoint is "
            "the global batch's state, the same in one process as in N"
        )
    cfg = experiment.resolve_recipe(recipe, overrides)  # the same resolution rank 0's experiment.run does
    if cfg.study is not None:
        raise NNJError(
            f"--nproc {nproc}: {cfg.recipe} is a study (many small trainings, already spread over processes by "
            "study.workers); run it without --nproc"
        )
    prepared = experiment.prepare_variants(cfg.variant_configs())  # loads and checks the data
    device = select_device(cfg.training.device)
    for name, (vcfg, bundle, task) in prepared.items():
        check_data_parallel(vcfg, bundle, task, nproc, name if len(prepared) > 1 else None)
    if device.type == "cuda" and nproc > torch.cuda.device_count():
        raise NNJError(
            f"--nproc {nproc} but this machine has {torch.cuda.device_count()} CUDA GPUs; one each"
        )
    if device.type == "cpu" and nproc > (os.cpu_count() or 1):
        log.warning("--nproc %d on %d CPU cores: processes will share cores", nproc, os.cpu_count() or 1)
    backend = "nccl" if device.type == "cuda" else "gloo"
    with tempfile.TemporaryDirectory(prefix="nnj-ddp-") as tmp:
        spec = {
            "recipe": str(recipe),
            "overrides": list(overrides),
            "out": str(out),
            "seed": seed,
            "quiet": quiet,
            "backend": backend,
            "result": str(Path(tmp) / "run_dir"),
            "errors": tmp,
        }
        _torchrun(nproc, json.dumps(spec), Path(tmp))
        run_dir = Path((Path(tmp) / "run_dir").read_text())
    return run_dir, read_summary(run_dir)


def check_data_parallel(
    cfg: Any, bundle: DataBundle, task: Task, nproc: int, variant: str | None = None
) -> None:
    """Refuse, in one line, what N processes cannot train as one would."""
    where = f"--nproc {nproc}" + (f" (variant {variant})" if variant else "")
    if nproc == 1:
        return
    if task.trainer != "supervised":
        raise NNJError(f"{where}: data-parallel training is for the supervised trainer, not {task.trainer!r}")
    if cfg.ensemble.size > 1:
        raise NNJError(
            f"{where}: ensembles train their members together; set ensemble.size = 1 or drop --nproc"
        )
    if cfg.evaluation.cross_validates:
        raise NNJError(f"{where}: cross-validation trains one model per fold; drop evaluation.cv or --nproc")
    train = bundle.train
    if type(train).batch_indices is not Split.batch_indices or getattr(task, "stateful", False):
        raise NNJError(
            f"{where}: {type(train).__name__} batches keep their order (a stream); train in one process"
        )
    probe = _probe_model(cfg, bundle, task)
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in probe.modules()):
        raise NNJError(
            f"{where}: batch norm would normalise each process's share of the batch, not the batch; "
            "train in one process"
        )
    n = len(train)
    batch = {"batch": n, "stochastic": 1}.get(cfg.training.regime, min(cfg.training.batch_size, n))
    smallest = n % batch or batch  # the last mini-batch of an epoch
    if smallest < nproc:
        raise NNJError(
            f"{where}: the epoch's last mini-batch has {smallest} of {n} training rows, fewer than one per "
            f"process; choose training.batch_size so that {n} % batch_size is 0 or at least {nproc}"
        )
    if bundle.val is not None and 0 < len(bundle.val) < nproc:
        raise NNJError(
            f"{where}: the validation split has {len(bundle.val)} rows, fewer than one per process"
        )


def _probe_model(cfg: Any, bundle: DataBundle, task: Task) -> nn.Module:
    from nnjournal import models

    with torch.random.fork_rng(devices=[]):  # the run's numbers must not depend on this probe
        return models.build(cfg.model, bundle.info, task.out_features)


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it: never a fixed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _torchrun(nproc: int, spec: str, errors: Path) -> None:
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default for N > 1, without its warning
    argv = [
        "--nnodes", "1", "--nproc-per-node", str(nproc), "--max-restarts", "0",
        "--rdzv-backend", "static", "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
        "--module", "nnjournal.training.launch", spec,
    ]  # fmt: skip
    args = parse_args(argv)
    # a failed or interrupted worker reports itself in one line below, not in the agent's logs
    agent_logs = [
        logging.getLogger(name)
        for name in logging.root.manager.loggerDict
        if name.startswith("torch.distributed")
    ]
    levels = [log.level for log in agent_logs]
    for agent_log in agent_logs:
        agent_log.setLevel(logging.CRITICAL)
    try:
        run(args)
    except (ChildFailedError, SignalException) as err:
        messages = sorted(errors.glob("error-*.txt"))  # rank 0's first
        if not messages:
            raise NNJError(f"a training process failed ({err}); see above") from None
        code, _, message = messages[0].read_text().partition(" ")
        failure = NNJError(message)
        failure.exit_code = int(code)
        raise failure from None
    finally:
        for agent_log, level in zip(agent_logs, levels, strict=True):
            agent_log.setLevel(level)


def _worker(spec: dict[str, Any]) -> None:
    """One of the N processes torchrun started (see the module's docstring)."""
    from nnjournal import experiment
    from nnjournal.training import distributed
    from nnjournal.training.trainers import train_one

    rank = int(os.environ["RANK"])
    if rank:  # rank 0 alone stops on a signal, at a step boundary, saving; the others follow it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with distributed.process_group(spec["backend"]) as group, distributed.active(group):
            if rank == 0:
                result = experiment.run(
                    spec["recipe"], spec["overrides"], out=spec["out"], seed=spec["seed"], quiet=spec["quiet"]
                )
                Path(spec["result"]).write_text(str(result.run_dir))
            else:  # the same data, tasks and trainings in the same order; nothing written
                cfg = experiment.resolve_recipe(spec["recipe"], spec["overrides"])
                if spec["seed"] is not None:
                    cfg = cfg.model_copy(update={"seed": spec["seed"]})
                for vcfg, bundle, task in experiment.prepare_variants(cfg.variant_configs()).values():
                    train_one(vcfg, bundle, task)
    except NNJError as err:
        Path(spec["errors"], f"error-{rank}.txt").write_text(f"{getattr(err, 'exit_code', 2)} {err}")
        sys.exit(getattr(err, "exit_code", 2))
    except Exception:
        if rank and Path(spec["errors"], "error-0.txt").exists():
            sys.exit(1)  # rank 0 stopped (and said why): the lost peer is no news
        raise


if __name__ == "__main__":  # a torchrun worker
    _worker(json.loads(sys.argv[1]))
