"""Variational autoencoder (Kingma & Welling 2014).

The encoder maps x to the mean mu and log-variance log sigma^2 of q(z|x) = N(mu, sigma^2);
training draws z = mu + sigma * eps with eps ~ N(0, I) (the reparameterisation trick, so
gradients flow through the sample); the decoder maps z to p(x|z)'s mean. The closed-form
KL(q(z|x) || N(0, I)) = 0.5 * sum(mu^2 + sigma^2 - log sigma^2 - 1) is computed here; the
likelihood term and beta belong to the `vae` task (tasks/vae.py), which forms the ELBO.

In eval mode z = mu, so reconstructions and codes are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from nnjournal.models.autoencoders import activation


class VAEOutput(NamedTuple):
    recon: torch.Tensor  # (n, *input_shape): decoder mean of the sampled (train) or mean (eval) z
    code: torch.Tensor  # (n, latent): mu
    logvar: torch.Tensor  # (n, latent)
    kl: torch.Tensor  # (n,): KL(q(z|x) || p(z)) in nats

    def detach(self) -> VAEOutput:
        return VAEOutput(*(t.detach() for t in self))


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per latent dimension, (n, latent)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)


class VAE(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        hidden: Sequence[int],
        latent: int,
        *,
        act: str = "relu",
        output_act: str = "sigmoid",
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent = latent
        n_in = int(torch.tensor(self.input_shape).prod())
        enc: list[nn.Module] = [nn.Flatten()]
        c = n_in
        for h in hidden:
            enc += [nn.Linear(c, h), activation(act)]
            c = h
        self.encoder = nn.Sequential(*enc)
        self.to_stats = nn.Linear(c, 2 * latent)  # mu and log-variance, side by side
        dec: list[nn.Module] = []
        c = latent
        for h in reversed(hidden):
            dec += [nn.Linear(c, h), activation(act)]
            c = h
        dec += [nn.Linear(c, n_in), activation(output_act)]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)  # keeps exp() finite early in training

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.input_shape)  # shape[0]: a dynamic batch in export

    def forward(self, x: torch.Tensor) -> VAEOutput:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return VAEOutput(self.decode(z), mu, logvar, gaussian_kl(mu, logvar).sum(dim=1))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new items: decoder means of z ~ N(0, I)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator).to(device)
        with torch.no_grad():
            return self.decode(z)
