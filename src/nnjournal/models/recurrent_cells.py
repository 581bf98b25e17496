"""Recurrent cells written gate by gate, for teaching: the Elman cell, the LSTM and the GRU.

Each step function is the textbook equations with one line per gate, in PyTorch's gate order
and weight layout (`weight_ih` is (gates * H, I), the gates stacked in the order below), so
weights copy both ways with `nn.LSTM` / `nn.GRU` / `nn.RNN` and the results agree to float
rounding (tests/test_recurrent_cells.py checks 1e-5).

`ManualRNN` unrolls a cell over time with the interface of the fused modules (batch first,
parameters named `weight_ih_l0`, `bias_hh_l1_reverse`, ...), so
`manual.load_state_dict(nn.LSTM(...).state_dict())` works and a recipe can switch between
the fused and the hand-written implementation without touching anything else. It takes
`lengths` instead of a packed sequence: past a sequence's length its state stops updating
and its outputs are zero, which is what `pack_padded_sequence` gives the fused modules.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

Mode = Literal["rnn", "lstm", "gru"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


# ---------------------------------------------------------------------------- the steps
def elman_step(
    x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
    b_ih: torch.Tensor, b_hh: torch.Tensor, nonlinearity: str = "tanh",
) -> torch.Tensor:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh): the simple recurrent network (Elman, 1990)."""
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, H)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_step(
    x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], w_ih: torch.Tensor,
    w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.).
    The cell state `c` is the memory: the forget gate scales what is kept, the input gate
    how much of the candidate is written, the output gate how much of it is shown as `h`."""
    h, c = state  # (B, H) each
    w_ii, w_if, w_ig, w_io = w_ih.chunk(4, 0)  # PyTorch's order: input, forget, cell (g), output
    w_hi, w_hf, w_hg, w_ho = w_hh.chunk(4, 0)
    b_ii, b_if, b_ig, b_io = b_ih.chunk(4, 0)
    b_hi, b_hf, b_hg, b_ho = b_hh.chunk(4, 0)
    input_gate = torch.sigmoid(x @ w_ii.T + b_ii + h @ w_hi.T + b_hi)
    forget_gate = torch.sigmoid(x @ w_if.T + b_if + h @ w_hf.T + b_hf)
    candidate = torch.tanh(x @ w_ig.T + b_ig + h @ w_hg.T + b_hg)  # the "input modulation"
    output_gate = torch.sigmoid(x @ w_io.T + b_io + h @ w_ho.T + b_ho)
    c_new = forget_gate * c + input_gate * candidate  # additive: the gradient's highway
    h_new = output_gate * torch.tanh(c_new)
    return h_new, c_new


def gru_step(
    x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
    b_ih: torch.Tensor, b_hh: torch.Tensor,
) -> torch.Tensor:
    """One GRU step (Cho et al. 2014): the update gate interpolates between the old state and
    a candidate; the reset gate decides how much of the old state the candidate sees."""
    w_ir, w_iz, w_in = w_ih.chunk(3, 0)  # PyTorch's order: reset, update (z), new (n)
    w_hr, w_hz, w_hn = w_hh.chunk(3, 0)
    b_ir, b_iz, b_in = b_ih.chunk(3, 0)
    b_hr, b_hz, b_hn = b_hh.chunk(3, 0)
    reset_gate = torch.sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
    update_gate = torch.sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
    # PyTorch (like cuDNN) applies the reset gate after the recurrent product, bias included.
    candidate = torch.tanh(x @ w_in.T + b_in + reset_gate * (h @ w_hn.T + b_hn))
    return (1 - update_gate) * candidate + update_gate * h


# ---------------------------------------------------------------------------- cell modules
class _Cell(nn.Module):
    """Weights laid out as `nn.LSTMCell` / `nn.GRUCell` / `nn.RNNCell`, initialised alike."""

    mode: Mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        g = GATES[self.mode]
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(g * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(g * hidden_size))
        bound = 1 / math.sqrt(hidden_size)  # PyTorch's default: U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _weights(self) -> tuple[torch.Tensor, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class ElmanCell(_Cell):
    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh") -> None:
        super().__init__(input_size, hidden_size)
        self.nonlinearity = nonlinearity

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden_size) if h is None else h
        return elman_step(x, h, *self._weights(), nonlinearity=self.nonlinearity)


class LSTMCell(_Cell):
    mode = "lstm"

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        return lstm_step(x, state, *self._weights())


class GRUCell(_Cell):
    mode = "gru"

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden_size) if h is None else h
        return gru_step(x, h, *self._weights())


# ---------------------------------------------------------------------------- unrolling
def unroll(
    mode: Mode,
    x: torch.Tensor,
    state: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
    weights: tuple[torch.Tensor, ...],
    lengths: torch.Tensor | None = None,
    reverse: bool = False,
    nonlinearity: str = "tanh",
) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    """Run one cell over time: the network unfolded into T copies sharing one set of weights.

    x (B, T, I); state (B, H) or (h, c). With `lengths`, steps at t >= length keep the state
    unchanged and output zeros, so a padded sequence ends in the state of its last real step;
    `reverse` walks from T-1 to 0, so a backward direction starts at each sequence's own end
    (its state stays at the initial one through the padding). Returns (outputs (B, T, H), state).
    """
    T = x.shape[1]
    outputs: list[torch.Tensor] = [x.new_empty(0)] * T
    steps = range(T - 1, -1, -1) if reverse else range(T)
    for t in steps:
        if mode == "lstm":
            new = lstm_step(x[:, t], state, *weights)
        elif mode == "gru":
            new = gru_step(x[:, t], state, *weights)
        else:
            new = elman_step(x[:, t], state, *weights, nonlinearity=nonlinearity)
        if lengths is not None:
            alive = (t < lengths).unsqueeze(1)  # (B, 1): is step t inside the sequence?
            if mode == "lstm":
                new = (torch.where(alive, new[0], state[0]), torch.where(alive, new[1], state[1]))
            else:
                new = torch.where(alive, new, state)
            h = new[0] if mode == "lstm" else new
            outputs[t] = torch.where(alive, h, torch.zeros_like(h))
        else:
            outputs[t] = new[0] if mode == "lstm" else new
        state = new
    return torch.stack(outputs, dim=1), state


class ManualRNN(nn.Module):
    """A multi-layer, optionally bidirectional recurrent network made of the hand-written
    cells, with `nn.RNN`/`nn.LSTM`/`nn.GRU`'s parameter names (batch_first=True) so a
    state dict loads from one into the other. Slow (a Python loop over time): for teaching
    and checking, not for long trainings."""

    def __init__(
        self,
        mode: Mode,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"mode must be one of {sorted(GATES)}, got {mode!r}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bidirectional, self.dropout = num_layers, bidirectional, dropout
        self.nonlinearity = nonlinearity
        g, directions = GATES[mode], 2 if bidirectional else 1
        bound = 1 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * directions
            for suffix in self._suffixes(layer):
                for name, shape in (
                    ("weight_ih", (g * hidden_size, layer_in)),
                    ("weight_hh", (g * hidden_size, hidden_size)),
                    ("bias_ih", (g * hidden_size,)),
                    ("bias_hh", (g * hidden_size,)),
                ):
                    p = nn.Parameter(torch.empty(shape))
                    nn.init.uniform_(p, -bound, bound)
                    self.register_parameter(f"{name}{suffix}", p)

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def _weights(self, suffix: str) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def forward(
        self,
        x: torch.Tensor,
        state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
        lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        """x (B, T, I); state as the fused modules take it: (L * D, B, H), or a pair of them
        for the LSTM. Returns (outputs (B, T, D * H), final state in the same layout)."""
        B = x.shape[0]
        D = 2 if self.bidirectional else 1
        if state is None:
            zeros = x.new_zeros(self.num_layers * D, B, self.hidden_size)
            state = (zeros, zeros) if self.mode == "lstm" else zeros
        if lengths is not None:
            lengths = lengths.to(x.device)
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                i = layer * D + d
                s = (state[0][i], state[1][i]) if self.mode == "lstm" else state[i]
                out, s = unroll(
                    self.mode, x, s, self._weights(suffix), lengths, reverse=d == 1,
                    nonlinearity=self.nonlinearity,
                )
                outs.append(out)
                finals_h.append(s[0] if self.mode == "lstm" else s)
                if self.mode == "lstm":
                    finals_c.append(s[1])
            x = torch.cat(outs, dim=2)  # (B, T, D * H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = nn.functional.dropout(x, self.dropout, training=True)
        h_n = torch.stack(finals_h)  # (L * D, B, H)
        return x, ((h_n, torch.stack(finals_c)) if self.mode == "lstm" else h_n)
