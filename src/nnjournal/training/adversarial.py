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
(benchmarks/adversarial_step.py). Around the step the loop is `fit`'s: the non-finite guard on
both losses, epoch-end callbacks given the model, Ctrl-C / SIGTERM saving at an epoch boundary
(exit 130), and `fit`'s checkpoint policy. Checkpoints are `training/checkpoint.py`'s one file
with both nets (one module), both optimizers, the batch-order and noise generators and the
global RNG, so a resumed run ends with bit-identical weights.

`train_adversarial` is the entry in `training.trainers.TRAINERS` ("adversarial"): `fit`'s
signature, its options read from `[training]` and `[training.adversarial]`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError
from nnjournal.models.gan import GAN
from nnjournal.training.callbacks import Callback, as_callbacks, wants_batch_end
from nnjournal.training.checkpoint import (
    CheckpointPolicy,
    has_checkpoint,
    load_checkpoint,
    restore_state,
    save_checkpoint,
    training_state,
)
from nnjournal.training.guard import check_finite
from nnjournal.training.history import History
from nnjournal.training.interrupt import InterruptFlag, TrainingInterrupted
from nnjournal.training.progress import EpochProgress
from nnjournal.training.seeding import select_device
from nnjournal.training.threads import intra_op_threads, resolve_threads

EpochCallback = Callable[[int, dict[str, Any]], None]
LOGGED = ("d_loss", "g_loss", "minimax_value", "d_real", "d_fake")


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
    threads: int | str = "auto",
    checkpoint: Path | None = None,
    resume: bool = False,
    checkpoint_every_s: float | None = None,
    callbacks: Sequence[Callback] = (),
    on_epoch_end: Sequence[EpochCallback] = (),
    quiet: bool = True,
) -> History:
    """Train `gan` in place on `train` (uint8 images (n, C, H, W); labels `train.y` are fed to
    both nets when the GAN is conditional) and return its `History` (records: `LOGGED` per epoch).

    `n_critic`: discriminator steps per generator step (each on its own batch). `label_smoothing`:
    one-sided, D's target for real images is 1 - smoothing. `ema_decay`: of the generator's
    moving average when the GAN was built with `ema=True` (ignored otherwise). `checkpoint`: a
    path stem as in `fit` (`<stem>.ckpt.safetensors`), written at epoch ends by `fit`'s policy
    (`checkpoint_every_s` None: every epoch within 1% of the training time), at the last epoch
    and on Ctrl-C / SIGTERM (then `TrainingInterrupted`, exit 130), after the epoch callbacks;
    `resume=True` continues from it when it exists. `threads`: CPU threads, or "auto" (`fit`'s
    policy: one thread when a batch through both nets is small, see training/threads.py)."""
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
    train = train.to(dev)
    x = train.x
    y = train.y if gan.conditional else None
    players = make_players(
        gan, lr_d=lr_d, lr_g=lr_g, betas=betas, label_smoothing=label_smoothing, ema_decay=ema_decay
    )
    # Batch norm cannot normalise one example in training mode: a last batch of one is skipped.
    skip_singletons = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in gan.modules())
    order_gen = torch.Generator().manual_seed(seed)  # batch order on the CPU, as in `fit`
    noise_gen = torch.Generator(device=dev).manual_seed(seed + 1)  # z drawn where G runs
    hooks = as_callbacks(callbacks, on_epoch_end)
    batch_hooks = [h for h in hooks if wants_batch_end([h])]

    history, start_epoch = History(monitor="g_loss"), 0
    live = ({"gan": gan}, {"d": players.opt_d, "g": players.opt_g}, {})
    if resume and has_checkpoint(checkpoint):
        state = load_checkpoint(checkpoint)
        restore_state(state, *live, order_gen)
        noise_gen.set_state(state["noise"])
        history = History(**state["history"])
        start_epoch = len(history.records)
    elapsed_before = history.train_time_s

    def save() -> None:
        save_checkpoint(
            checkpoint, training_state(*live, order_gen, noise=noise_gen.get_state(), history=history.state())
        )

    def first_batch_step() -> Any:  # only `threads = "auto"` runs it, to count multiply-adds
        n = min(batch_size, len(train))
        z0 = torch.zeros(n, gan.latent, device=dev)
        labels0 = y[:n] if y is not None else None
        return gan.discriminator(gan.generator(z0, labels0), labels0), gan.discriminator(GAN.to_tanh(x[:n]), labels0)

    n_threads = resolve_threads(threads, gan, first_batch_step, dev)
    saver = CheckpointPolicy(checkpoint_every_s)
    progress = EpochProgress(epochs, "adversarial training", quiet)
    for h in hooks:
        h.on_train_begin(gan, players)
    t0 = time.perf_counter()
    step = 0
    gan.train()
    with InterruptFlag(enabled=checkpoint is not None) as interrupt, intra_op_threads(n_threads) as used_threads:
        history.threads = used_threads if dev.type == "cpu" else None
        try:
            for epoch in range(start_epoch, epochs):
                epoch_start = time.perf_counter()
                sums = {k: torch.zeros((), device=dev) for k in LOGGED}
                d_count, g_count = 0, 0
                for b, idx in enumerate(train.batch_indices(batch_size, order_gen, dev)):
                    if interrupt.raised and saver.saved_last_epoch:
                        raise TrainingInterrupted(f"stopped by {interrupt.raised}")
                    if skip_singletons and len(idx) == 1:
                        continue
                    real, labels = GAN.to_tanh(x[idx]), (y[idx] if y is not None else None)
                    z = torch.randn(len(idx), gan.latent, generator=noise_gen, device=dev)
                    update_g = (b + 1) % n_critic == 0
                    out = adversarial_step(gan, players, real, labels, z, update_g)
                    _guard(out, gan, players, real, labels, z, epoch=epoch + 1, batch=b + 1)
                    for k, v in out.items():
                        sums[k] += v
                    d_count += len(idx)
                    g_count += len(idx) if update_g else 0
                    step += 1
                    for h in batch_hooks:
                        h.on_batch_end(step, gan, out["d_loss"] / len(idx))

                record: dict[str, Any] = {"epoch": epoch + 1}
                for k in LOGGED:
                    count = g_count if k == "g_loss" else d_count
                    record[k] = float(sums[k]) / count if count else float("nan")
                record["time_s"] = time.perf_counter() - epoch_start
                history.records.append(record)
                history.train_time_s = elapsed_before + time.perf_counter() - t0
                for h in hooks:
                    h.on_epoch_end(epoch, record, gan)
                progress.update(epoch, record)
                if checkpoint is not None:
                    last = epoch + 1 == epochs
                    saver.maybe_save(save, last or interrupt.raised is not None, time.perf_counter() - t0)
                if interrupt.raised:
                    raise TrainingInterrupted(f"stopped by {interrupt.raised}")
        finally:
            progress.close()
    history.train_time_s = elapsed_before + time.perf_counter() - t0
    for h in hooks:
        h.on_train_end(gan, history)
    return history


def _guard(
    out: dict[str, torch.Tensor],
    gan: GAN,
    players: Players,
    real: torch.Tensor,
    labels: torch.Tensor | None,
    z: torch.Tensor,
    *,
    epoch: int,
    batch: int,
) -> None:
    """The non-finite guard on both players' losses; the diagnosis re-runs that player's loss."""

    def d_loss() -> torch.Tensor:
        logit_real = gan.discriminator(real, labels)
        logit_fake = gan.discriminator(gan.generator(z, labels).detach(), labels)
        return F.binary_cross_entropy_with_logits(
            logit_real, torch.full_like(logit_real, players.real_target)
        ) + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))

    def g_loss() -> torch.Tensor:
        logit = gan.discriminator(gan.generator(z, labels), labels)
        return F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))

    n = len(real)
    lr = players.opt_d.param_groups[0]["lr"]
    check_finite(out["d_loss"] / n, epoch=epoch, batch=batch, lr=lr, model=gan.discriminator, step=d_loss)
    if "g_loss" in out:
        lr = players.opt_g.param_groups[0]["lr"]
        check_finite(out["g_loss"] / n, epoch=epoch, batch=batch, lr=lr, model=gan, step=g_loss)


def check_options(config: Any, n_train: int) -> None:
    """Refuse `[training]` settings this trainer would ignore or that leave G untrained; the
    GAN task's `check_model` calls it in the preflight, before the run directory exists."""
    from nnjournal.config.training import SUPERVISED_ONLY, TrainingConfig

    defaults = TrainingConfig()
    changed = [k for k in SUPERVISED_ONLY if getattr(config, k) != getattr(defaults, k)]
    if changed:
        raise NNJError(
            f"training.{changed[0]} is a supervised-training option the adversarial trainer does not use; "
            "set the GAN's options under [training.adversarial] (n_critic, label_smoothing, lr_d, lr_g, "
            "betas, ema_decay)"
        )
    # G steps on every n_critic-th batch of an epoch (the count restarts each epoch): with fewer
    # batches than n_critic it would never step, and the run would report an untrained generator.
    batches = -(-n_train // config.batch_size)
    if n_train and config.adversarial.n_critic > batches:
        raise NNJError(
            f"training.adversarial.n_critic = {config.adversarial.n_critic} is more than the {batches} batch(es) "
            f"of an epoch ({n_train} training images, batch size {config.batch_size}), so the generator would "
            f"never step; set n_critic <= {batches} or a smaller training.batch_size"
        )


def train_adversarial(
    model: Any,
    train: Split,
    val: Split | None = None,
    *,
    task: Any,
    config: Any,
    seed: int = 0,
    quiet: bool = True,
    callbacks: Sequence[Callback] = (),
    checkpoint: Path | None = None,
    resume: bool = False,
) -> History:
    """`TRAINERS["adversarial"]`: `fit`'s signature. Options from `config` (`[training]`):
    epochs, batch_size, device, checkpoint_every_s, and `adversarial` (n_critic, one-sided
    label smoothing, both learning rates, betas, EMA decay). `val` is not used (a GAN has no
    validation loss; it is judged on samples by the task). A task's `training_callbacks(model,
    folder)` adds its own hooks (the GAN task's fixed-noise sample snapshots)."""
    if not isinstance(model, GAN):
        raise NNJError(f"the adversarial trainer trains a GAN (model.name = 'gan'), got {type(model).__name__}")
    check_options(config, len(train))
    a = config.adversarial
    extra = getattr(task, "training_callbacks", None)
    folder = Path(checkpoint).parent if checkpoint is not None else None
    hooks = [*callbacks, *(extra(model, folder) if extra is not None else [])]
    return fit_adversarial(
        model,
        train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=seed,
        n_critic=a.n_critic,
        label_smoothing=a.label_smoothing,
        lr_d=a.lr_d,
        lr_g=a.lr_g,
        betas=tuple(a.betas),
        ema_decay=a.ema_decay,
        device=config.device,
        threads=config.threads,
        checkpoint=checkpoint,
        resume=resume,
        checkpoint_every_s=config.checkpoint_every_s,
        callbacks=hooks,
        quiet=quiet,
    )
