"""Autoencoders: an encoder f maps x to a code h, a decoder g maps h back, and training
minimises L(x, g(f(x))) (the reconstruction task's loss) plus the model's own penalty.

- Dense (`DenseAutoencoder`): Linear layers to a `code_size` code and mirrored back. Linear
  activations everywhere give the linear autoencoder, which spans PCA's subspace; several
  hidden layers give a stacked (deep) autoencoder; `tied=True` reuses the encoder's weights,
  transposed, in the decoder.
- Convolutional (`ConvAutoencoder`): the notes' denoiser, conv 3x3 + max-pool per encoder
  stage and conv 3x3 + upsample per decoder stage, then a conv to the output channels
  (optionally several times more, rearranged by sub-pixel convolution for super-resolution).
- Regularizers, computed in training mode only and returned per example so the trainer
  needs no special case: L1 activity or KL sparsity on the code (sparse autoencoder) and
  the squared Frobenius norm of the encoder Jacobian (contractive autoencoder).

A forward pass returns `AEOutput(recon, code, penalty)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from nnjournal.errors import NNJError

_ACT = {
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


class AEOutput(NamedTuple):
    recon: torch.Tensor  # (n, *output_shape), on the data's scale
    code: torch.Tensor  # (n, code_features)
    penalty: torch.Tensor  # (n,): each example's regularization term (zeros in eval mode)

    def detach(self) -> AEOutput:
        return AEOutput(*(t.detach() for t in self))


def activation(name: str) -> nn.Module:
    if name not in _ACT:
        raise ValueError(f"activation must be one of {sorted(_ACT)}, got {name!r}")
    return _ACT[name]()


class CodeRegularizer(nn.Module):
    """Sparsity of the code: `l1` adds weight * sum_j |h_j| per example (Keras's activity
    regularizer); `kl` adds weight * sum_j KL(rho || rho_hat_j) with rho_hat_j the batch mean
    activation of unit j (codes must lie in (0, 1), i.e. a sigmoid code)."""

    def __init__(self, kind: str = "none", weight: float = 0.0, target: float = 0.05) -> None:
        super().__init__()
        self.kind, self.weight, self.target = kind, weight, target

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        n = code.shape[0]  # not len(): export traces shape[0] as the batch axis, len() as a constant
        if self.kind == "none" or self.weight == 0:
            return code.new_zeros(n)
        if self.kind == "l1":
            return self.weight * code.abs().sum(dim=1)
        rho = self.target
        rho_hat = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        # A batch statistic: spread evenly over the examples so its mean is the penalty.
        return (self.weight * kl.sum()).expand(n)


def _act_derivative(name: str, pre: torch.Tensor, out: torch.Tensor) -> torch.Tensor | None:
    """d act / d pre, elementwise, where a closed form is cheap; None otherwise."""
    if name == "linear":
        return torch.ones_like(pre)
    if name == "sigmoid":
        return out * (1 - out)
    if name == "tanh":
        return 1 - out * out
    if name == "relu":
        return (pre > 0).to(pre.dtype)
    return None


class DenseAutoencoder(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        hidden: Sequence[int],
        code_size: int,
        *,
        act: str = "relu",
        code_act: str = "relu",
        output_act: str = "sigmoid",
        tied: bool = False,
        sparsity: CodeRegularizer | None = None,
        contractive: float = 0.0,
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        n_in = int(torch.tensor(self.input_shape).prod())
        sizes = [n_in, *hidden, code_size]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.enc_acts = [act] * len(hidden) + [code_act]
        self.tied = tied
        back = sizes[::-1]
        if tied:
            # Only biases are the decoder's own; weights are the encoder's, transposed.
            self.decoder_bias = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in back[1:])
            self.decoder = nn.ModuleList()
        else:
            self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:], strict=True))
        self.dec_acts = [act] * len(hidden) + [output_act]
        self.sparsity = sparsity or CodeRegularizer()
        self.contractive = contractive

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for layer, name in zip(self.encoder, self.enc_acts, strict=True):
            h = activation(name)(layer(h)) if name != "linear" else layer(h)
        return h

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        h = code
        for i, name in enumerate(self.dec_acts):
            if self.tied:
                h = F.linear(h, self.encoder[-1 - i].weight.t(), self.decoder_bias[i])
            else:
                h = self.decoder[i](h)
            h = activation(name)(h) if name != "linear" else h
        return h.reshape(h.shape[0], *self.input_shape)

    def forward(self, x: torch.Tensor) -> AEOutput:
        if self.training and self.contractive > 0:
            code, jac = self._encode_with_jacobian_norm(x)
        else:
            code, jac = self.encode(x), None
        penalty = self.sparsity(code) if self.training else code.new_zeros(code.shape[0])
        if jac is not None:
            penalty = penalty + self.contractive * jac
        return AEOutput(self.decode(code), code, penalty)

    def _encode_with_jacobian_norm(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The code and ||dh/dx||_F^2 per example. One-layer encoder: closed form
        sum_j act'(a_j)^2 ||W_j||^2 (J = diag(act'(a)) W). Deeper: Hutchinson's estimator
        E_v ||J^T v||^2 with v ~ N(0, I) in code space, one vector-Jacobian product
        (unbiased; its noise averages out over a batch and over steps)."""
        name = self.enc_acts[0]
        if len(self.encoder) == 1 and name in ("linear", "sigmoid", "tanh", "relu"):
            layer = self.encoder[0]
            pre = layer(x.flatten(1))
            code = activation(name)(pre) if name != "linear" else pre
            d = _act_derivative(name, pre, code)
            row_norms = layer.weight.pow(2).sum(dim=1)  # (code,)
            return code, (d.pow(2) * row_norms).sum(dim=1)
        x = x.detach().requires_grad_(True)
        code = self.encode(x)
        v = torch.randn_like(code)
        (jt_v,) = torch.autograd.grad((code * v).sum(), x, create_graph=True)
        return code, jt_v.flatten(1).pow(2).sum(dim=1)


class ConvAutoencoder(nn.Module):
    """Conv 3x3 + act + max-pool 2 per `channels` entry, then conv 3x3 + act + upsample 2 in
    reverse, then conv 3x3 to `out_channels * upscale^2` and a pixel shuffle (sub-pixel
    convolution) when `upscale > 1`. Image sides must be divisible by 2^len(channels).

    `skip=True` adds the input, resized to the output (bilinear upsampling, a grey channel
    repeated), before the output activation: the network learns only what the classical
    answer misses — residual learning, for colorization and super-resolution."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (32, 32),
        *,
        act: str = "relu",
        output_act: str = "sigmoid",
        upscale: int = 1,
        sparsity: CodeRegularizer | None = None,
        contractive: float = 0.0,
        skip: bool = False,
    ) -> None:
        super().__init__()
        enc: list[nn.Module] = []
        c = in_channels
        for width in channels:
            enc += [nn.Conv2d(c, width, 3, padding=1), activation(act), nn.MaxPool2d(2)]
            c = width
        dec: list[nn.Module] = []
        for width in reversed(channels):
            dec += [nn.Conv2d(c, width, 3, padding=1), activation(act), nn.Upsample(scale_factor=2)]
            c = width
        last = nn.Conv2d(c, out_channels * upscale**2, 3, padding=1)
        dec.append(last)
        if upscale > 1:
            dec.append(nn.PixelShuffle(upscale))
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.output_act = activation(output_act)
        self.sparsity = sparsity or CodeRegularizer()
        self.contractive = contractive
        self.out_channels, self.upscale, self.skip = out_channels, upscale, skip
        if skip:
            if in_channels not in (1, out_channels):
                raise NNJError(
                    f"model.skip needs inputs with 1 or {out_channels} channels, got {in_channels}; "
                    "set model.skip = false"
                )
            if output_act not in ("sigmoid", "linear"):
                raise ValueError(f"skip needs a sigmoid or linear output, got {output_act!r}")
            # The decoder learns a correction to the input resized to the output; starting from
            # zero, the untrained model *is* the classical answer (bilinear upsampling, grey
            # copied to every channel) and training can only move it where that helps.
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).flatten(1)

    def forward(self, x: torch.Tensor) -> AEOutput:
        if self.training and self.contractive > 0:
            x = x.detach().requires_grad_(True)
        fmap = self.encoder(x)  # (n, C, H / 2^k, W / 2^k)
        code = fmap.flatten(1)
        penalty = self.sparsity(code) if self.training else code.new_zeros(code.shape[0])
        if self.training and self.contractive > 0:
            v = torch.randn_like(code)  # Hutchinson's estimator, as in the dense model
            (jt_v,) = torch.autograd.grad((code * v).sum(), x, create_graph=True)
            penalty = penalty + self.contractive * jt_v.flatten(1).pow(2).sum(dim=1)
        out = self.decoder(fmap)
        if self.skip:
            out = out + self._skip_base(x)
        return AEOutput(self.output_act(out), code, penalty)

    def _skip_base(self, x: torch.Tensor) -> torch.Tensor:
        """The input resized to the output, before the output activation (logits for sigmoid)."""
        base = x
        if self.upscale > 1:
            base = F.interpolate(base, scale_factor=self.upscale, mode="bilinear", align_corners=False)
        if base.shape[1] != self.out_channels:
            base = base.expand(-1, self.out_channels, -1, -1)
        if isinstance(self.output_act, nn.Sigmoid):
            base = torch.logit(base.clamp(1e-4, 1 - 1e-4))
        return base

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        if self.skip:
            raise ValueError("a model with an input skip path needs its input: call the model, not decode")
        shape = self._code_shape
        return self.output_act(self.decoder(code.reshape(code.shape[0], *shape)))

    _code_shape: tuple[int, ...] = ()

    def remember_code_shape(self, input_shape: Sequence[int]) -> None:
        """Record the encoder's feature-map shape for `decode` (from a dummy input)."""
        with torch.no_grad():
            dummy = torch.zeros(1, *input_shape, device=next(self.parameters()).device)
            self._code_shape = tuple(self.encoder(dummy).shape[1:])
