"""Builders of the recurrent models (issue 12): a config section and the data's info -> module.

Which inputs a model reads follows from the data: token ids when `info.vocab_size` is set
(embedded), (1, H, W) images read row by row (MNIST: 28 steps of 28 pixels), (T,) signals
one value per step, (T, F) features as they are."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nnjournal.data.bundle import DataInfo
from nnjournal.errors import NNJError
from nnjournal.models.rnn import CharLM, Forecaster, SequenceClassifier, SequenceTagger
from nnjournal.models.seq2seq import Seq2Seq


def _cell(name: str) -> str:
    return "rnn" if name == "elman" else name  # PyTorch calls the Elman network nn.RNN


def _encoder(cfg: Any) -> dict[str, Any]:
    return {
        "cell": _cell(cfg.cell), "num_layers": cfg.layers, "dropout": cfg.dropout, "residual": cfg.residual,
        "implementation": cfg.implementation, "bidirectional": getattr(cfg, "bidirectional", False),
    }


def init_forget_bias(module: nn.Module, value: float | str | None, steps: int | None = None) -> nn.Module:
    """Set every LSTM layer's forget-gate bias (gate order i, f, g, o, as in nn.LSTM and the
    manual cells): b_ih[f] = value, b_hh[f] = 0, so the gate starts near sigmoid(value) and
    gradients pass through the cell state from the first step.

    `value = "chrono"` is the chrono initialisation (Tallec & Ollivier 2018) for sequences of
    `steps` steps: b_f = log(u), u ~ U(1, steps - 1) per unit, and the input gate's bias b_i =
    -b_f. A fixed large forget bias alone lets the input gate pour the blank steps into the
    cell until tanh(c) saturates, which stops the gradient again (the copy task at delay 200
    stays at chance with 1, 3 or 5); chrono gives each unit a memory time up to the sequence
    length and keeps the cell quiet between events."""
    if value is None:
        return module
    if value == "chrono" and (steps is None or steps < 3):
        raise NNJError(
            "model.forget_bias = 'chrono' needs sequences of known length (3 steps or more); "
            "set a number such as 1.0 instead"
        )
    for m in module.modules():
        encoder = getattr(m, "encoder", None)
        if getattr(encoder, "cell", None) != "lstm":
            continue
        H = encoder.hidden_size
        with torch.no_grad():
            for name, p in encoder.named_parameters():
                if ".bias_ih" in name or name.startswith("bias_ih"):
                    if value == "chrono":
                        forget = torch.log(1 + torch.rand(H) * (steps - 2))  # log U(1, steps - 1)
                        p[H : 2 * H] = forget
                        p[0:H] = -forget
                    else:
                        p[H : 2 * H] = value
                elif ".bias_hh" in name or name.startswith("bias_hh"):
                    p[H : 2 * H] = 0.0
                    if value == "chrono":
                        p[0:H] = 0.0
    return module


class RowsAsSteps(nn.Module):
    """(B, 1, H, W) grey images -> (B, H, W): row r is time step r. Applied after the pixel
    standardization `models.build` puts in front of image models."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, *args: Any) -> torch.Tensor:
        return self.net(x[:, 0], *args)


def rnn(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    shape = info.input_shape
    if info.vocab_size:
        in_features = 1
    elif len(shape) == 3:
        if shape[0] != 1:
            raise NNJError(f"model.name = 'rnn' reads grey images row by row; got {shape[0]} channels")
        in_features = shape[2]
    else:
        in_features = shape[1] if len(shape) == 2 else 1
    kw = dict(in_features=in_features, vocab_size=info.vocab_size, embedding_dim=cfg.embedding_dim,
              hidden_size=cfg.hidden, **_encoder(cfg))
    if cfg.head == "step":
        net: nn.Module = SequenceTagger(out_features, **kw)
    else:
        net = SequenceClassifier(out_features, pooling=cfg.pooling, **kw)
    init_forget_bias(net, cfg.forget_bias, steps=shape[0] if len(shape) < 3 else shape[1])
    return RowsAsSteps(net) if len(shape) == 3 else net


def char_lm(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    model = CharLM(out_features, embedding_dim=cfg.embedding_dim, hidden_size=cfg.hidden, num_layers=cfg.layers,
                   dropout=cfg.dropout, cell=_cell(cfg.cell), residual=cfg.residual,
                   implementation=cfg.implementation)
    return init_forget_bias(model, cfg.forget_bias)


def seq2seq(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    if not info.vocab_size:
        raise NNJError("model.name = 'seq2seq' needs token data (e.g. data.name = 'dates')")
    return Seq2Seq(info.vocab_size, out_features, embedding_dim=cfg.embedding_dim, hidden_size=cfg.hidden,
                   attention=cfg.attention, cell=cfg.cell)


def forecaster(cfg: Any, info: DataInfo, out_features: int) -> nn.Module:
    in_features = info.input_shape[1] if len(info.input_shape) == 2 else 1
    model = Forecaster(in_features=in_features, horizon=out_features, hidden_size=cfg.hidden, **_encoder(cfg))
    return init_forget_bias(model, cfg.forget_bias, steps=info.input_shape[0])


RECURRENT_BUILDERS = {"rnn": rnn, "char-lm": char_lm, "seq2seq": seq2seq, "forecaster": forecaster}
