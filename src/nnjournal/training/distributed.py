"""Data-parallel training (issue 17): what `fit` does differently when it is one of N
processes started by torchrun (`nnj run RECIPE --nproc N`, `training/launch.py`).

`fit` asks `replicas()` for the object below and calls it at four places, the same calls in
one process (`SingleProcess`: everything passes through unchanged) and in N (`DataParallel`):

- `wrap(model, seed)`: the model the step calls; N processes get `DistributedDataParallel`,
  whose backward all-reduces the gradients (gloo on the CPU, nccl on CUDA).
- `shard(batches)`: every process draws the same epoch order from the shared seed and keeps
  its slice of each global batch, so one step's rows over all processes are exactly the
  one-process batch of `training.batch_size` rows.
- `local_part(split)`: each process's contiguous slice of the validation split.
- `sum(totals, count)`: the epoch's training sums and the validation sums added over the
  processes, so every process logs, and early stopping decides on, the same numbers.

Gradients: each process's loss is the mean over its own rows. The one-process gradient is
the mean over the whole batch, sum_r (n_r / n) * grad_r, so the comm hook weights each
process's gradient by its share n_r / n before adding them up (DDP's default averages, which
is the same only when every share is equal, not for an uneven last batch).

Dropout: every `nn.Dropout` becomes a `ShardDropout`, which draws the mask for the whole
global batch (every process the same draw: their generators start from the same seed and
draw the same amounts) and keeps its own rows, so each row gets the mask it gets in one
process and a model with dropout trains to the one-process numbers too. What is still not
equal: augmentation and weight noise, drawn per process; with either switched on, processes
other than 0 reseed from (seed, rank) so no two shards draw the same augmentation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from torch import nn


class SingleProcess:
    """One process: the model as built, every batch whole, sums as they are."""

    rank = 0
    world_size = 1

    def wrap(self, model: nn.Module, seed: int, own_draws: bool = False) -> nn.Module:
        return model

    def shard(self, batches: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
        return batches

    def local_part(self, split: Any) -> Any:
        return split

    def sum(self, totals: dict[str, float], count: float) -> tuple[dict[str, float], float]:
        return totals, count


class DataParallel(SingleProcess):
    """Process `rank` of `world_size` in an initialised process group."""

    def __init__(self, rank: int, world_size: int, device_ids: list[int] | None = None) -> None:
        self.rank, self.world_size, self.device_ids = rank, world_size, device_ids
        self.share = 1.0 / world_size  # this process's rows / the global batch's, set per batch
        self.rows: tuple[int, int, int] | None = None  # (first row, own rows, global rows) of the batch

    def wrap(self, model: nn.Module, seed: int, own_draws: bool = False) -> nn.Module:
        """`own_draws`: the step draws per-example noise besides dropout (augmentation, weight
        noise), which must differ between shards: processes other than 0 then reseed."""
        from torch.nn.parallel import DistributedDataParallel

        for parent in list(model.modules()):
            for name, child in parent.named_children():
                if type(child) is nn.Dropout:
                    setattr(parent, name, ShardDropout(child.p, self))
        ddp = DistributedDataParallel(model, device_ids=self.device_ids)  # broadcasts rank 0's weights
        ddp.register_comm_hook(self, _weighted_allreduce)
        if own_draws and self.rank:  # rank 0 keeps the one-process stream
            torch.manual_seed((seed + (self.rank << 32)) % 2**63)
        return ddp

    def shard(self, batches: Iterator[torch.Tensor]) -> Iterator[torch.Tensor]:
        for idx in batches:
            # tensor_split: shares differ by at most one row (the launcher refuses empty ones)
            parts = torch.tensor_split(idx, self.world_size)
            mine = parts[self.rank]
            self.share = len(mine) / len(idx)
            self.rows = (sum(len(p) for p in parts[: self.rank]), len(mine), len(idx))
            yield mine
        self.rows = None

    def local_part(self, split: Any) -> Any:
        bounds = torch.tensor_split(torch.arange(len(split)), self.world_size)[self.rank]
        return split.take(slice(int(bounds[0]), int(bounds[-1]) + 1))

    def sum(self, totals: dict[str, float], count: float) -> tuple[dict[str, float], float]:
        import torch.distributed as dist

        # float64 on the CPU for gloo; nccl needs the tensor on this process's GPU
        device = f"cuda:{self.device_ids[0]}" if self.device_ids else "cpu"
        values = torch.tensor([count, *totals.values()], dtype=torch.float64, device=device)
        dist.all_reduce(values)
        summed = values.tolist()
        return dict(zip(totals, summed[1:], strict=True)), summed[0]


class ShardDropout(nn.Dropout):
    """`nn.Dropout` for one process's rows of a global batch: the mask is drawn for all the
    batch's rows, exactly as `F.dropout` draws it in one process (`bernoulli_(1 - p)` on a
    tensor of the batch's shape, divided by 1 - p), and this process keeps its own rows.
    Outside a sharded batch (evaluation, MC dropout) it is plain dropout."""

    def __init__(self, p: float, parallel: DataParallel) -> None:
        super().__init__(p)
        self.parallel = parallel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.parallel.rows
        if not self.training or self.p == 0 or rows is None or rows[1] != x.shape[0]:
            return super().forward(x)
        first, own, total = rows
        mask = torch.empty((total, *x.shape[1:]), dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
        return x * mask[first : first + own].div_(1 - self.p)


def _weighted_allreduce(state, bucket):  # type: ignore[no-untyped-def]
    """DDP comm hook: sum over processes of (share x gradient) = the global batch's mean gradient.
    (Unannotated: DDP checks the annotations by identity, and this module's are strings.)"""
    import torch.distributed as dist

    buffer = bucket.buffer()
    buffer.mul_(state.share)
    return dist.all_reduce(buffer, async_op=True).get_future().then(lambda fut: fut.value()[0])


_ACTIVE: ContextVar[SingleProcess | None] = ContextVar("nnjournal_replicas", default=None)


def replicas() -> SingleProcess:
    """The data-parallel set-up `fit` trains under: `SingleProcess()` unless inside `active`."""
    return _ACTIVE.get() or SingleProcess()


@contextmanager
def active(parallel: SingleProcess) -> Iterator[SingleProcess]:
    """Within this block, `fit` trains as `parallel` says (one of N processes)."""
    token = _ACTIVE.set(parallel)
    try:
        yield parallel
    finally:
        _ACTIVE.reset(token)


@contextmanager
def process_group(backend: str) -> Iterator[DataParallel]:
    """Join the process group torchrun described in the environment (RANK, WORLD_SIZE,
    LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and leave it at the end. With nccl, this process
    uses GPU LOCAL_RANK, so `training.device = "cuda"` means its own GPU."""
    import torch.distributed as dist

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    device_ids = None
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device_ids = [local_rank]
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    try:
        yield DataParallel(rank, world_size, device_ids)
    finally:
        dist.destroy_process_group()
