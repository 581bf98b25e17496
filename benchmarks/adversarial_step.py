"""Adversarial step overhead: `training.adversarial.adversarial_step` against the same step
written by hand (the PyTorch DCGAN tutorial's loop body), same process, same tensors.

Two copies of one GAN (same initial weights) and two pairs of Adams see the same real batches,
labels and noise, so they must also end with identical weights (checked after every block).
Blocks of steps alternate (trainer, hand, hand, trainer, ...) so machine load hits both alike;
the median of the per-pair time ratios and the ratio of the fastest blocks are reported
(goal <= 1.05). On a loaded machine the median wanders by several per cent either way.

    .venv/bin/python benchmarks/adversarial_step.py [--kinds vanilla dcgan] [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from nnjournal.models.gan import GAN, build_gan
from nnjournal.training.adversarial import LOGGED, adversarial_step, make_players


def hand_step(gan: GAN, opt_d, opt_g, real, labels, z, sums: dict[str, torch.Tensor]) -> None:
    """The tutorial's order, inline: D on real and detached fake -> D step; G through D -> G step."""
    n = len(real)
    fake = gan.generator(z, labels)
    opt_d.zero_grad(set_to_none=True)
    out_real = gan.discriminator(real, labels)
    out_fake = gan.discriminator(fake.detach(), labels)
    err_d = F.binary_cross_entropy_with_logits(
        out_real, torch.ones_like(out_real)
    ) + F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake))
    err_d.backward()
    opt_d.step()
    with torch.no_grad():
        sums["d_loss"] += err_d.detach() * n
        sums["minimax_value"] += -(F.softplus(-out_real).sum() + F.softplus(out_fake).sum())
        sums["d_real"] += torch.sigmoid(out_real).sum()
        sums["d_fake"] += torch.sigmoid(out_fake).sum()
    opt_g.zero_grad(set_to_none=True)
    out = gan.discriminator(fake, labels)
    err_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
    err_g.backward()
    opt_g.step()
    sums["g_loss"] += err_g.detach() * n


def trainer_step(gan: GAN, players, real, labels, z, sums: dict[str, torch.Tensor]) -> None:
    """What `fit_adversarial` does per batch once the batch is sliced: the step, then the sums."""
    for k, v in adversarial_step(gan, players, real, labels, z).items():
        sums[k] += v


def bench(kind: str, width: int, batch: int, steps: int, repeats: int) -> float:
    torch.manual_seed(0)
    a = build_gan(kind, n_classes=10, width=width)
    b = build_gan(**a.config)
    b.load_state_dict(a.state_dict())
    players = make_players(a, ema_decay=None)
    opt_d = torch.optim.Adam(b.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(b.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 256, (steps, batch, 1, 28, 28), dtype=torch.uint8, generator=gen)
    reals = [GAN.to_tanh(p) for p in pixels]
    labels = [torch.randint(0, 10, (batch,), generator=gen) if a.conditional else None for _ in range(steps)]
    zs = [torch.randn(batch, a.latent, generator=gen) for _ in range(steps)]
    sums_a = {k: torch.zeros(()) for k in LOGGED}
    sums_b = {k: torch.zeros(()) for k in LOGGED}
    for i in range(2):  # warm-up (first Adam step, allocator)
        trainer_step(a, players, reals[i], labels[i], zs[i], sums_a)
        hand_step(b, opt_d, opt_g, reals[i], labels[i], zs[i], sums_b)
    ratios, t_trainer, t_hand = [], [], []
    for r in range(repeats):
        # Alternate which goes first, so neither always runs on a cache the other warmed.
        for which in ("trainer", "hand") if r % 2 == 0 else ("hand", "trainer"):
            t = time.perf_counter()
            for i in range(steps):
                if which == "trainer":
                    trainer_step(a, players, reals[i], labels[i], zs[i], sums_a)
                else:
                    hand_step(b, opt_d, opt_g, reals[i], labels[i], zs[i], sums_b)
            (t_trainer if which == "trainer" else t_hand).append(time.perf_counter() - t)
        ratios.append(t_trainer[-1] / t_hand[-1])
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    ratio = statistics.median(ratios)
    best = min(t_trainer) / min(t_hand)  # as timeit: slower blocks measure other processes
    print(
        f"{kind:8s} width {width:3d} batch {batch}: trainer {min(t_trainer) / steps * 1e3:7.2f} ms/step, "
        f"hand {min(t_hand) / steps * 1e3:7.2f} ms/step (fastest blocks), median ratio {ratio:.3f}, "
        f"ratio of fastest {best:.3f} (goal <= 1.05; weights identical)"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["vanilla", "cgan", "dcgan"])
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU, {args.repeats} alternating blocks"
    )
    for kind in args.kinds:
        bench(kind, args.width, args.batch_size, args.steps, args.repeats)


if __name__ == "__main__":
    main()
