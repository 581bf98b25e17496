"""Adam on stacked (K, ...) parameters with a learning rate and a beta1 for every member.

`torch.optim.Adam` takes one learning rate and one pair of betas per parameter group, and a
vectorized run (`training/vectorized.py`) holds each parameter of all K members in one tensor,
so a sweep over the learning rate or the momentum (the tuning study's stages) needs this: the
same arithmetic as `torch.optim.Adam` (and `AdamW` with `decoupled`), with `lr` and `beta1`
broadcast along the member axis."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch


class MemberAdam:
    """Adam whose member k (index k of every parameter's first axis) steps with `lr[k]` and
    betas `(beta1[k], beta2)`. Weight decay is coupled (L2 added to the gradient, as Adam) or,
    with `decoupled`, AdamW's `p *= 1 - lr * weight_decay`."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: Sequence[float],
        beta1: Sequence[float],
        *,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        self.params = list(params)
        device = self.params[0].device
        self.lr = torch.as_tensor(lr, dtype=torch.float32, device=device)
        self.beta1 = torch.as_tensor(beta1, dtype=torch.float32, device=device)
        if self.lr.shape != self.beta1.shape or self.lr.shape[0] != self.params[0].shape[0]:
            raise ValueError(f"need one lr and one beta1 per member, got {len(lr)} and {len(beta1)}")
        self.beta2, self.eps, self.weight_decay, self.decoupled = beta2, eps, weight_decay, decoupled
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0
        self.param_groups = [{"lr": float("nan")}]  # one rate per member: see `lr`

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        bias2_sqrt = math.sqrt(1 - self.beta2**self.steps)
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
            if p.grad is None:
                continue
            along = (-1,) + (1,) * (p.dim() - 1)  # (K,) -> (K, 1, ...): one value per member
            lr, beta1 = self.lr.view(along), self.beta1.view(along)
            grad = p.grad
            if self.weight_decay:
                if self.decoupled:
                    p.mul_(1 - lr * self.weight_decay)
                else:
                    grad = grad.add(p, alpha=self.weight_decay)
            m.lerp_(grad, (1 - beta1).expand_as(m))
            v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            step_size = lr / (1 - beta1**self.steps)
            denom = (v.sqrt() / bias2_sqrt).add_(self.eps)
            p.sub_(step_size * m / denom)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None
