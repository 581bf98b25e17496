"""The variational autoencoder's objective: maximise the ELBO
    E_q[log p(x|z)] - beta * KL(q(z|x) || N(0, I)),
i.e. minimise the negative per-example ELBO. The likelihood p(x|z) is Bernoulli (binary
cross-entropy summed over pixels; the usual choice for 0..1 images) or Gaussian with a fixed
std. Evaluation adds the ELBO with sampled z, an importance-sampled estimate of the negative
log-likelihood (Burda et al. 2016), and the KL of each latent dimension."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from nnjournal.data.bundle import DataInfo, Split
from nnjournal.evaluation.reconstruction import reconstruction_metrics
from nnjournal.tasks.reconstruction import Reconstruction
from nnjournal.training.predict import predict_outputs


class VAETask(Reconstruction):
    name = "vae"
    headline = "mse"
    report_metrics = ["mse", "elbo", "nll_is", "active_latent_dims", "psnr"]

    def __init__(
        self, info: DataInfo, likelihood: str = "bernoulli", gaussian_std: float = 0.1, beta: float = 1.0
    ) -> None:
        super().__init__(info)
        self.headline = "mse"
        self.likelihood, self.gaussian_std, self.beta = likelihood, gaussian_std, beta

    @classmethod
    def from_config(cls, section: Any, info: DataInfo, bundle: Any = None) -> VAETask:
        return cls(info, section.likelihood, section.gaussian_std, section.beta)

    def nll(self, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per example in nats, (n,)."""
        if self.likelihood == "bernoulli":
            p = recon.clamp(1e-6, 1 - 1e-6)
            return F.binary_cross_entropy(p, target, reduction="none").flatten(1).sum(dim=1)
        s = self.gaussian_std
        sq = ((recon - target) / s).flatten(1).pow(2)
        return (0.5 * sq + math.log(s) + 0.5 * math.log(2 * math.pi)).sum(dim=1)

    def loss(self, outputs: Any, targets: torch.Tensor) -> torch.Tensor:
        return (self.nll(outputs.recon, targets) + self.beta * outputs.kl).mean()

    @torch.no_grad()
    def evaluate(
        self, model: torch.nn.Module, split: Split, importance_samples: int = 64, max_examples: int = 300
    ) -> dict[str, float]:
        """Reconstruction metrics and KL per dimension on the whole split; ELBO and the
        importance-sampled NLL on its first `max_examples` examples (k decoder passes per
        example make the estimate the expensive part)."""
        out = predict_outputs(model, split.x)
        metrics = reconstruction_metrics(split.x, out.recon, split.y)
        n = min(len(split.x), max_examples)
        metrics.update(vae_likelihoods(model, self, split.x[:n], split.y[:n], importance_samples))
        kl_dims = (0.5 * (out.code.pow(2) + out.logvar.exp() - out.logvar - 1)).mean(dim=0)
        for j, v in enumerate(kl_dims.tolist()):
            metrics[f"kl_dim_{j + 1}"] = v
        # A dimension carrying under 0.01 nats has collapsed to the prior ("inactive").
        metrics["active_latent_dims"] = float((kl_dims > 0.01).sum())
        return metrics


@torch.no_grad()
def vae_likelihoods(
    model: torch.nn.Module,
    task: VAETask,
    x: torch.Tensor,
    target: torch.Tensor,
    k: int = 100,
    chunk: int = 256,
) -> dict[str, float]:
    """ELBO (one z sample per example, beta = 1) and the importance-sampled NLL estimate
    -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) with z_i ~ q(z|x), both in nats per example.
    The estimate is >= the true NLL and tightens as k grows; it is always <= -ELBO."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(0)  # the same draws every evaluation
    elbos, nlls = [], []
    for s in range(0, len(x), chunk):
        xb, tb = x[s : s + chunk].to(device), target[s : s + chunk].to(device)
        mu, logvar = model.encode(xb)
        std = (0.5 * logvar).exp()
        n, d = mu.shape
        eps = torch.randn(k, n, d, generator=gen).to(device)
        z = mu + std * eps  # (k, n, d)
        recon = model.decode(z.reshape(k * n, d))
        log_px = -task.nll(recon, tb.repeat(k, *([1] * (tb.dim() - 1)))).reshape(k, n)
        log_pz = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(dim=2)
        log_qz = (-0.5 * eps.pow(2) - 0.5 * math.log(2 * math.pi) - 0.5 * logvar).sum(dim=2)
        log_w = log_px + log_pz - log_qz
        kl = (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)).sum(dim=1)
        elbos.append(log_px[0] - kl)
        nlls.append(-(torch.logsumexp(log_w, dim=0) - math.log(k)))
    model.train(was)
    return {"elbo": float(torch.cat(elbos).mean()), "nll_is": float(torch.cat(nlls).mean())}
