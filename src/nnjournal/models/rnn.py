"""Recurrent networks: one encoder and the heads of the course's input/output patterns.

- `SequenceEncoder`: Elman RNN, LSTM or GRU (PyTorch's fused modules, or the gate-by-gate
  cells of `recurrent_cells` with `implementation="manual"`), bidirectional, stacked with
  dropout and optional residual (skip) connections between layers. Variable-length batches
  are packed (`pack_padded_sequence`), so padding never enters the recurrence.
- `SequenceClassifier` (many-to-one, an "acceptor"): pooling `last | mean | attention`.
- `SequenceTagger` (many-to-many, equal length, a "transducer"): one output per step.
- `CharLM` (one-to-many at generation): embedding -> RNN -> logits, with `generate`.
- `Forecaster`: a window of a series -> the next `horizon` values.

The encoder-decoder (many-to-many, unequal length) is in `seq2seq.py`.
Shapes: B batch, T time steps, I input features, H hidden units, D directions, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nnjournal.errors import NNJError
from nnjournal.models.recurrent_cells import ManualRNN

Cell = Literal["rnn", "lstm", "gru"]
FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
POOLINGS = ("last", "mean", "attention")

State = Any  # (L * D, B, H), or a pair of them for the LSTM


def detach_state(state: State) -> State:
    """The state with its history cut: truncated BPTT back-propagates within a window only."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def step_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) True at the real steps of each sequence, False at its padding."""
    return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class SequenceEncoder(nn.Module):
    """Stacked recurrent layers, one module per layer so that dropout and residual
    connections between layers are explicit (the fused multi-layer module hides them)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        cell: Cell = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        residual: bool = False,
        implementation: Literal["fused", "manual"] = "fused",
    ) -> None:
        super().__init__()
        if cell not in FUSED:
            raise NNJError(f"model.cell must be one of {', '.join(FUSED)}, got {cell!r}")
        if implementation not in ("fused", "manual"):
            raise NNJError(f"model.implementation must be 'fused' or 'manual', got {implementation!r}")
        self.cell, self.hidden_size, self.num_layers = cell, hidden_size, num_layers
        self.directions = 2 if bidirectional else 1
        self.residual = residual
        self.out_features = hidden_size * self.directions
        layers = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else self.out_features
            if implementation == "manual":
                layers.append(ManualRNN(cell, layer_in, hidden_size, bidirectional=bidirectional))
            else:
                layers.append(FUSED[cell](layer_in, hidden_size, batch_first=True, bidirectional=bidirectional))
        self.layers = nn.ModuleList(layers)
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: State = None
    ) -> tuple[torch.Tensor, State]:
        """x (B, T, I), lengths (B,) or None (all T long), state as the fused modules keep it.
        Returns (outputs (B, T, D*H), zero at padding; final state (L*D, B, H) or a pair)."""
        D = self.directions
        finals = []
        for i, rnn in enumerate(self.layers):
            inputs = x if i == 0 else self.drop(x)
            layer_state = None if state is None else _slice_state(state, i * D, (i + 1) * D)
            out, s = self._run(rnn, inputs, lengths, layer_state)  # (B, T, D*H)
            if self.residual and out.shape[-1] == x.shape[-1]:  # every layer whose input is as wide
                out = out + x  # a skip connection: gradients reach lower layers directly
            x = out
            finals.append(s)
        if lengths is not None and self.residual:
            x = x * step_mask(lengths.to(x.device), x.shape[1]).unsqueeze(-1)
        if self.cell == "lstm":
            return x, (torch.cat([s[0] for s in finals]), torch.cat([s[1] for s in finals]))
        return x, torch.cat(finals)

    @staticmethod
    def _run(rnn: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None, state: State) -> tuple:
        if isinstance(rnn, ManualRNN):
            return rnn(x, state, lengths)
        if lengths is None:
            return rnn(x, state)
        if int(lengths.min()) < 1:
            raise NNJError("every sequence needs at least one step (a length of 0 was given)")
        # enforce_sorted=False: PyTorch sorts by length and restores the batch order of the
        # outputs and of the state, so callers keep their own order.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, s = rnn(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out, s

    def last_hidden(self, state: State) -> torch.Tensor:
        """(B, D*H): the top layer's final state, forward direction at each sequence's last
        real step and backward direction at step 0 (both have then read the whole input)."""
        h = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
        return torch.cat(list(h[-self.directions :]), dim=1)


def _slice_state(state: State, start: int, stop: int) -> State:
    if isinstance(state, tuple):
        return tuple(s[start:stop].contiguous() for s in state)
    return state[start:stop].contiguous()


def _encoder_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    keys = ("cell", "num_layers", "bidirectional", "dropout", "residual", "implementation")
    return {k: kw[k] for k in keys if k in kw}


class _SequenceInput(nn.Module):
    """Token ids (B, T) through an embedding, or float features (B, T, F); a (B, T) float
    input (MNIST-1D, a series) is one feature per step."""

    def __init__(self, in_features: int, vocab_size: int | None, embedding_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if vocab_size else None
        self.out_features = embedding_dim if vocab_size else in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            return self.embedding(x)  # (B, T, E)
        return x.unsqueeze(-1) if x.dim() == 2 else x.float()


class SequenceClassifier(nn.Module):
    """Many-to-one: a whole sequence -> class logits (B, C).

    `pooling="last"` reads the final state; `"mean"` averages the outputs over the real steps;
    `"attention"` learns a score per step (softmax over the real steps only) and averages
    with those weights, so a long input need not be squeezed through the last state."""

    def __init__(
        self,
        n_classes: int,
        *,
        in_features: int = 1,
        vocab_size: int | None = None,
        embedding_dim: int = 32,
        hidden_size: int = 128,
        pooling: str = "last",
        **encoder: Any,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise NNJError(f"model.pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.pooling = pooling
        self.inputs = _SequenceInput(in_features, vocab_size, embedding_dim)
        self.encoder = SequenceEncoder(self.inputs.out_features, hidden_size, **_encoder_kwargs(encoder))
        width = self.encoder.out_features
        self.score = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False))
        self.head = nn.Linear(width, n_classes)
        self.last_weights: torch.Tensor | None = None  # (B, T) attention weights of the last call

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = self.inputs(x)  # (B, T, I)
        outputs, state = self.encoder(h, lengths)  # (B, T, D*H)
        B, T = outputs.shape[:2]
        lengths = torch.full((B,), T, device=outputs.device) if lengths is None else lengths.to(outputs.device)
        mask = step_mask(lengths, T)  # (B, T)
        if self.pooling == "last":
            pooled = self.encoder.last_hidden(state)
        elif self.pooling == "mean":
            pooled = (outputs * mask.unsqueeze(-1)).sum(1) / lengths.unsqueeze(1).to(outputs.dtype)
        else:
            scores = self.score(outputs).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
            weights = torch.softmax(scores, dim=1)
            self.last_weights = weights.detach()
            pooled = (weights.unsqueeze(-1) * outputs).sum(1)  # (B, D*H)
        return self.head(pooled)  # (B, C)


class SequenceTagger(nn.Module):
    """Many-to-many of equal length: one set of logits per step (B, T, C). A bidirectional
    encoder lets each step's label depend on what comes after it too."""

    def __init__(
        self,
        n_classes: int,
        *,
        in_features: int = 1,
        vocab_size: int | None = None,
        embedding_dim: int = 32,
        hidden_size: int = 128,
        **encoder: Any,
    ) -> None:
        super().__init__()
        self.inputs = _SequenceInput(in_features, vocab_size, embedding_dim)
        self.encoder = SequenceEncoder(self.inputs.out_features, hidden_size, **_encoder_kwargs(encoder))
        self.head = nn.Linear(self.encoder.out_features, n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        outputs, _ = self.encoder(self.inputs(x), lengths)  # (B, T, D*H)
        return self.head(outputs)  # (B, T, C)


class CharLM(nn.Module):
    """A character language model: embedding -> unidirectional RNN -> next-character logits.
    `forward` takes and returns the recurrent state, so truncated BPTT can carry it from one
    window to the next and generation can feed one character at a time."""

    def __init__(
        self,
        vocab_size: int,
        *,
        embedding_dim: int = 64,
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.0,
        cell: Cell = "lstm",
        residual: bool = False,
        implementation: Literal["fused", "manual"] = "fused",
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = SequenceEncoder(
            embedding_dim, hidden_size, cell=cell, num_layers=num_layers, dropout=dropout,
            residual=residual, implementation=implementation,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h = self.embedding(idx)  # (B, T, E)
        outputs, state = self.encoder(h, None, state)  # (B, T, H)
        return self.head(self.drop(outputs)), state  # (B, T, V)

    @torch.no_grad()
    def generate(
        self,
        prompt_ids: torch.Tensor,
        length: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
        on_id: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        """The prompt followed by `length` sampled ids, (T + length,). Temperature divides
        the logits (0 = greedy: always the most likely character); `top_k` keeps only the k
        most likely before sampling. Seeded by `generator`, so a seed gives one text.
        `on_id(id)` is called with each new id as it is drawn (`nnj generate` streams them)."""
        if length < 1:
            raise NNJError(f"generation length must be at least 1, got {length}")
        if temperature < 0:
            raise NNJError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
        if top_k is not None and top_k < 1:
            raise NNJError(f"top_k must be at least 1 (or none), got {top_k}")
        idx = prompt_ids.reshape(1, -1).to(self.head.weight.device)  # (1, T)
        if idx.shape[1] == 0:
            raise NNJError("the prompt is empty: give at least one character")
        was_training = self.training
        self.eval()
        logits, state = self(idx)  # the whole prompt once; then one character per step
        new = []
        for _ in range(length):
            last = logits[:, -1, :]  # (1, V)
            if temperature == 0:
                nxt = last.argmax(dim=-1, keepdim=True)  # (1, 1)
            else:
                # The max subtracted first and the division in float64 (1e-300 is 0 in float32): a
                # tiny temperature then sends the others to -inf (greedy in the limit), never nan.
                last = ((last - last.max(dim=-1, keepdim=True).values).double() / temperature).float()
                if top_k is not None:
                    kth = torch.topk(last, min(top_k, last.shape[-1])).values[:, [-1]]
                    last = last.masked_fill(last < kth, float("-inf"))
                probs = torch.softmax(last, dim=-1)
                nxt = torch.multinomial(probs.cpu(), 1, generator=generator).to(idx.device)
            new.append(nxt)
            if on_id is not None:
                on_id(int(nxt))
            logits, state = self(nxt, state)
        self.train(was_training)
        return torch.cat([idx, *new], dim=1).squeeze(0)


class Forecaster(nn.Module):
    """A window of a series (B, W) or (B, W, F) -> the next `horizon` values (B, horizon),
    all predicted at once from the last state (the "direct" multi-step strategy)."""

    def __init__(
        self,
        *,
        in_features: int = 1,
        horizon: int = 1,
        hidden_size: int = 32,
        **encoder: Any,
    ) -> None:
        super().__init__()
        self.horizon = horizon
        self.inputs = _SequenceInput(in_features, None, 0)
        self.encoder = SequenceEncoder(in_features, hidden_size, **_encoder_kwargs(encoder))
        self.head = nn.Linear(self.encoder.out_features, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(self.inputs(x))
        return self.head(self.encoder.last_hidden(state))  # (B, horizon)
