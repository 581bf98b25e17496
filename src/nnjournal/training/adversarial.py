"""The adversarial trainer: two players, two optimizers, one step written out in order.

One step on a real batch x (labels y for a conditional GAN), as in the PyTorch DCGAN tutorial:
  1. z ~ N(0, I); fake = G(z, y)
  2. discriminator: loss_D = BCE(D(x), 1 - smoothing) + BCE(D(fake.detach()), 0) -> backward ->
     D's step (fake is detached, so G gets no gradient from D's loss);
  3. every `n_critic`-th batch, generator: loss_G = BCE(D(fake), 1) = -log D(G(z)), the
     non-saturating loss (Goodfellow et al. 2014, sec. 3: log(1 - D(G(z))) has no gradient
     early on, when D rejects every fake) -> backward -> G's step (-> EMA of G's weights).
Logged per epoch: both losses, the minimax value V = E[log D(x)] + E[log(1 - D(G(z)))]
(D maximises it, G minimises it; 2 log(1/2) = -1.386 at the equilibrium D = 1/2), and the mean
D(x) and D(G(z)) on the batches D trained on.

Batches are index slices of uint8 images already on the device; per-batch numbers stay on the
device and are read once per epoch, so a step costs what the hand-written one costs
(benchmarks/adversarial_step.py). Checkpoints (`training/multi_checkpoint.py`) hold both nets,
both optimizers, the batch-order and noise generators and the global RNG, so a resumed run ends
with bit-identical weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError
from nnjournal.models.gan import GAN
from nnjournal.training.multi_checkpoint import (
    load_training_state,
    rng_state,
    save_training_state,
    set_rng_state,
)
from nnjournal.training.seeding import select_device

EpochCallback = Callable[[int, dict[str, Any]], None]
LOGGED = ("d_loss", "g_loss", "minimax_value", "d_real", "d_fake")


@dataclass
class AdversarialHistory:
    """Per-epoch records (`LOGGED` numbers, time) and the wall time; like `fit`'s History."""

    records: list[dict[str, Any]] = field(default_factory=list)
    train_time_s: float = 0.0

    def series(self, key: str) -> list[float]:
        return [r[key] for r in self.records if key in r]

    def to_dict(self) -> dict[str, Any]:
        return {"epochs_run": len(self.records)}


@dataclass
class Players:
    """Both optimizers and the step's settings, built once per run."""

    opt_d: torch.optim.Optimizer
    opt_g: torch.optim.Optimizer
    real_target: float  # 1 - one-sided label smoothing (only D's targets for real images)
    ema_decay: float | None


def make_players(
    gan: GAN,
    *,
    lr_d: float = 2e-4,
    lr_g: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    label_smoothing: float = 0.0,
    ema_decay: float | None = 0.999,
) -> Players:
    """Adam(2e-4, beta1 = 0.5) for each net (Radford et al. 2016: beta1 = 0.9 oscillates)."""
    if not 0.0 <= label_smoothing < 0.5:
        raise NNJError(f"training.label_smoothing must be in [0, 0.5), got {label_smoothing}")
    return Players(
        torch.optim.Adam(gan.discriminator.parameters(), lr=lr_d, betas=betas),
        torch.optim.Adam(gan.generator.parameters(), lr=lr_g, betas=betas),
        1.0 - label_smoothing,
        ema_decay if gan.generator_ema is not None else None,
    )


def adversarial_step(
    gan: GAN,
    players: Players,
    real: torch.Tensor,
    labels: torch.Tensor | None,
    z: torch.Tensor,
    update_generator: bool = True,
) -> dict[str, torch.Tensor]:
    """One discriminator step and (if `update_generator`) one generator step; `real` in [-1, 1].
    Returns detached batch sums: d_loss, g_loss, minimax_value, d_real, d_fake."""
    n = len(real)
    # 1. fakes; without a generator step this batch, no graph through G is needed
    with torch.set_grad_enabled(update_generator):
        fake = gan.generator(z, labels)

    # 2. discriminator on real and on detached fakes -> D's step
    players.opt_d.zero_grad(set_to_none=True)
    logit_real = gan.discriminator(real, labels)
    logit_fake = gan.discriminator(fake.detach(), labels)
    d_loss = F.binary_cross_entropy_with_logits(
        logit_real, torch.full_like(logit_real, players.real_target)
    ) + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))
    d_loss.backward()
    players.opt_d.step()

    with torch.no_grad():
        # log D(x) = -softplus(-l), log(1 - D(G(z))) = -softplus(l): exact where log(sigmoid) underflows
        value = -(F.softplus(-logit_real).sum() + F.softplus(logit_fake).sum())
        sums = {
            "d_loss": d_loss.detach() * n,
            "minimax_value": value,
            "d_real": torch.sigmoid(logit_real).sum(),
            "d_fake": torch.sigmoid(logit_fake).sum(),
        }

    # 3. generator through the (just updated) discriminator, non-saturating loss -> G's step
    if update_generator:
        players.opt_g.zero_grad(set_to_none=True)
        logit = gan.discriminator(fake, labels)
        g_loss = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
        g_loss.backward()  # also fills D's .grad; D's next step zeroes it first
        players.opt_g.step()
        if players.ema_decay is not None:
            update_ema(gan, players.ema_decay)
        sums["g_loss"] = g_loss.detach() * n
    return sums


@torch.no_grad()
def update_ema(gan: GAN, decay: float) -> None:
    """generator_ema <- decay * generator_ema + (1 - decay) * generator; buffers (batch-norm
    running statistics) are copied, since averaging them has no meaning."""
    ema = gan.generator_ema
    assert ema is not None
    for e, p in zip(ema.parameters(), gan.generator.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), gan.generator.buffers(), strict=True):
        e.copy_(b)


def fit_adversarial(
    gan: GAN,
    train: Split,
    *,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    n_critic: int = 1,
    label_smoothing: float = 0.0,
    lr_d: float = 2e-4,
    lr_g: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    ema_decay: float | None = 0.999,
    device: str = "auto",
    checkpoint: Path | None = None,
    resume: bool = False,
    checkpoint_every_s: float = 0.0,
    on_epoch_end: Sequence[EpochCallback] = (),
) -> AdversarialHistory:
    """Train `gan` in place on `train` (uint8 images (n, C, H, W); labels `train.y` are fed to
    both nets when the GAN is conditional) and return its history.

    `n_critic`: discriminator steps per generator step (each on its own batch). `label_smoothing`:
    one-sided, D's target for real images is 1 - smoothing. `ema_decay`: of the generator's
    moving average when the GAN was built with `ema=True` (ignored otherwise). `checkpoint`: a
    file written every `checkpoint_every_s` seconds (0 = every epoch) and after the last epoch,
    after the epoch callbacks; `resume=True` continues from it when it exists."""
    if epochs < 1 or batch_size < 1 or n_critic < 1:
        raise NNJError(
            f"training needs epochs, batch_size and n_critic >= 1 (got {epochs}, {batch_size}, {n_critic})"
        )
    if len(train) == 0:
        raise NNJError("the training split is empty; check data.max_train and the data path")
    if train.x.dtype != torch.uint8:
        raise NNJError(f"the adversarial trainer takes uint8 images (0..255), got {train.x.dtype}")
    dev = select_device(device)
    gan.to(dev)
    x = train.x.to(dev)
    y = train.y.to(dev) if gan.conditional else None
    n = len(x)
    players = make_players(
        gan, lr_d=lr_d, lr_g=lr_g, betas=betas, label_smoothing=label_smoothing, ema_decay=ema_decay
    )
    order_gen = torch.Generator().manual_seed(seed)  # batch order on the CPU, as in `fit`
    noise_gen = torch.Generator(device=dev).manual_seed(seed + 1)  # z drawn where G runs

    history, start_epoch = AdversarialHistory(), 0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        rng, extra = load_training_state(
            checkpoint, modules={"gan": gan}, optimizers={"d": players.opt_d, "g": players.opt_g}
        )
        set_rng_state(rng, order_gen, noise_gen)
        history = AdversarialHistory(extra["records"], extra["train_time_s"])
        start_epoch = len(history.records)
    elapsed_before, t0, last_save = history.train_time_s, time.perf_counter(), time.perf_counter()

    gan.train()
    for epoch in range(start_epoch, epochs):
        epoch_start = time.perf_counter()
        sums = {k: torch.zeros((), device=dev) for k in LOGGED}
        g_count = 0
        order = torch.randperm(n, generator=order_gen).to(dev)
        for b, start in enumerate(range(0, n, batch_size)):
            idx = order[start : start + batch_size]
            labels = y[idx] if y is not None else None
            z = torch.randn(len(idx), gan.latent, generator=noise_gen, device=dev)
            update_g = (b + 1) % n_critic == 0
            step = adversarial_step(gan, players, GAN.to_tanh(x[idx]), labels, z, update_g)
            for k, v in step.items():
                sums[k] += v
            g_count += len(idx) if update_g else 0
        record: dict[str, Any] = {"epoch": epoch + 1}
        for k in LOGGED:
            count = g_count if k == "g_loss" else n
            record[k] = float(sums[k]) / count if count else float("nan")
        record["time_s"] = time.perf_counter() - epoch_start
        history.records.append(record)
        history.train_time_s = elapsed_before + time.perf_counter() - t0
        for callback in on_epoch_end:
            callback(epoch, record)
        last = epoch + 1 == epochs
        if checkpoint is not None and (last or time.perf_counter() - last_save >= checkpoint_every_s):
            save_training_state(
                Path(checkpoint),
                modules={"gan": gan},
                optimizers={"d": players.opt_d, "g": players.opt_g},
                rng=rng_state(order_gen, noise_gen),
                extra={"records": history.records, "train_time_s": history.train_time_s},
            )
            last_save = time.perf_counter()
    history.train_time_s = elapsed_before + time.perf_counter() - t0
    return history
