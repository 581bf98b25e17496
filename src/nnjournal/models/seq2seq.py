"""Encoder-decoder (sequence to sequence) with attention: inputs and outputs of different
lengths, e.g. "3 March 2021" -> "2021-03-03".

The encoder reads the source (bidirectional, packed: padding never read). The decoder
writes the target one token at a time from its own previous token, and at each step looks
back at every encoder output through attention:
- `"bahdanau"` (additive; Bahdanau et al. 2015): scores v^T tanh(W_q s_{t-1} + W_k h_j) from
  the previous decoder state, the context fed into the cell with the token;
- `"luong"` (multiplicative, "general"; Luong et al. 2015): scores s_t^T W h_j from the new
  state, the attentional vector tanh(W_c [c_t; s_t]) fed to the next step ("input feeding");
- `"none"`: the decoder starts from the encoder's final state and never looks back (Cho et
  al. 2014), the baseline that shows what attention adds on long inputs.
Training uses teacher forcing with a ratio (each step, each sequence gets the true previous
token with that probability, else its own prediction); decoding is greedy or beam search.
Shapes: B batch, S source steps, T target steps, V target vocabulary, H hidden units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from nnjournal.errors import NNJError
from nnjournal.models.rnn import SequenceEncoder, step_mask

ATTENTIONS = ("bahdanau", "luong", "none")


@dataclass
class Memory:
    """What the decoder reads: encoder outputs (B, S, E), their projection for the scores,
    the source mask (B, S) and the decoder's initial state."""

    outputs: torch.Tensor
    keys: torch.Tensor | None
    mask: torch.Tensor
    state: Any

    def repeat(self, k: int) -> Memory:
        """The same source k times (beam search decodes k hypotheses in one batch)."""
        rep = lambda t: t.expand(k, *t.shape[1:])  # noqa: E731
        return Memory(rep(self.outputs), None if self.keys is None else rep(self.keys), rep(self.mask), None)


class Seq2Seq(nn.Module):
    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        *,
        embedding_dim: int = 32,
        hidden_size: int = 64,
        attention: Literal["bahdanau", "luong", "none"] = "bahdanau",
        cell: Literal["gru", "lstm"] = "gru",
        bos_id: int = 1,
        eos_id: int = 2,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        if attention not in ATTENTIONS:
            raise NNJError(f"model.attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        if cell not in ("gru", "lstm"):
            raise NNJError(f"model.cell of a seq2seq decoder must be gru or lstm, got {cell!r}")
        self.attention, self.cell, self.hidden_size = attention, cell, hidden_size
        self.bos_id, self.eos_id, self.pad_id = bos_id, eos_id, pad_id
        self.src_embedding = nn.Embedding(src_vocab, embedding_dim, padding_idx=pad_id)
        self.encoder = SequenceEncoder(embedding_dim, hidden_size, cell=cell, bidirectional=True)
        enc = self.encoder.out_features  # 2H
        self.bridge = nn.Linear(enc, hidden_size)  # encoder's final state -> decoder's first
        self.tgt_embedding = nn.Embedding(tgt_vocab, embedding_dim, padding_idx=pad_id)
        feed = {"bahdanau": enc, "luong": hidden_size, "none": 0}[attention]
        self.decoder = (nn.GRUCell if cell == "gru" else nn.LSTMCell)(embedding_dim + feed, hidden_size)
        if attention == "bahdanau":
            self.key = nn.Linear(enc, hidden_size, bias=False)
            self.query = nn.Linear(hidden_size, hidden_size)
            self.score = nn.Linear(hidden_size, 1, bias=False)
        elif attention == "luong":
            self.key = nn.Linear(enc, hidden_size, bias=False)  # W of s^T W h
        self.combine = nn.Linear(hidden_size + (enc if attention != "none" else 0), hidden_size)
        self.out = nn.Linear(hidden_size, tgt_vocab)

    # ------------------------------------------------------------------ encoder
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Memory:
        outputs, state = self.encoder(self.src_embedding(src), src_lengths)  # (B, S, 2H)
        h0 = torch.tanh(self.bridge(self.encoder.last_hidden(state)))  # (B, H)
        init = h0 if self.cell == "gru" else (h0, torch.zeros_like(h0))
        keys = self.key(outputs) if self.attention != "none" else None  # (B, S, H)
        return Memory(outputs, keys, step_mask(src_lengths.to(src.device), src.shape[1]), init)

    # ------------------------------------------------------------------ one decoder step
    def _attend(self, query: torch.Tensor, memory: Memory) -> tuple[torch.Tensor, torch.Tensor]:
        """(context (B, 2H), weights (B, S)); padded source steps get weight 0."""
        if self.attention == "bahdanau":
            scores = self.score(torch.tanh(self.query(query).unsqueeze(1) + memory.keys)).squeeze(-1)
        else:
            scores = torch.bmm(memory.keys, query.unsqueeze(2)).squeeze(2)  # (B, S)
        weights = torch.softmax(scores.masked_fill(~memory.mask, float("-inf")), dim=1)
        return torch.bmm(weights.unsqueeze(1), memory.outputs).squeeze(1), weights

    def step(
        self, token: torch.Tensor, state: Any, feed: torch.Tensor | None, memory: Memory
    ) -> tuple[torch.Tensor, Any, torch.Tensor | None, torch.Tensor | None]:
        """Previous tokens (B,) -> (logits (B, V), state, input feed, attention (B, S) or None)."""
        emb = self.tgt_embedding(token)  # (B, E)
        weights = None
        if self.attention == "bahdanau":
            h_prev = state[0] if isinstance(state, tuple) else state
            context, weights = self._attend(h_prev, memory)
            state = self.decoder(torch.cat([emb, context], 1), state)
            h = state[0] if isinstance(state, tuple) else state
            out = torch.tanh(self.combine(torch.cat([h, context], 1)))
        elif self.attention == "luong":
            feed = emb.new_zeros(len(emb), self.hidden_size) if feed is None else feed
            state = self.decoder(torch.cat([emb, feed], 1), state)
            h = state[0] if isinstance(state, tuple) else state
            context, weights = self._attend(h, memory)
            out = feed = torch.tanh(self.combine(torch.cat([h, context], 1)))
        else:
            state = self.decoder(emb, state)
            h = state[0] if isinstance(state, tuple) else state
            out = torch.tanh(self.combine(h))
        return self.out(out), state, feed, weights

    # ------------------------------------------------------------------ training
    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt: torch.Tensor,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """tgt (B, T) = <bos> y_1 ... <eos> <pad>... -> (logits (B, T-1, V) predicting
        tgt[:, 1:], attention (B, T-1, S) or None)."""
        memory = self.encode(src, src_lengths)
        state, feed, token = memory.state, None, tgt[:, 0]
        logits, attn = [], []
        for t in range(tgt.shape[1] - 1):
            step_logits, state, feed, w = self.step(token, state, feed, memory)
            logits.append(step_logits)
            attn.append(w)
            token = tgt[:, t + 1]
            if teacher_forcing < 1.0:
                use_truth = torch.rand(len(token), generator=generator).to(token.device) < teacher_forcing
                token = torch.where(use_truth, token, step_logits.detach().argmax(-1))
        attention = torch.stack(attn, 1) if attn[0] is not None else None
        return torch.stack(logits, 1), attention

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def greedy_decode(
        self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(tokens (B, L) ending at <eos> then <pad>, attention (B, L, S) or None): each step
        the most likely token, until every sequence has written <eos> or max_len."""
        memory = self.encode(src, src_lengths)
        state, feed = memory.state, None
        token = torch.full((len(src),), self.bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(len(src), dtype=torch.bool, device=src.device)
        tokens, attn = [], []
        for _ in range(max_len):
            logits, state, feed, w = self.step(token, state, feed, memory)
            token = logits.argmax(-1).masked_fill(done, self.pad_id)
            tokens.append(token)
            attn.append(w)
            done |= token == self.eos_id
            if bool(done.all()):
                break
        attention = torch.stack(attn, 1) if attn[0] is not None else None
        return torch.stack(tokens, 1), attention

    @torch.no_grad()
    def beam_decode(
        self, src: torch.Tensor, src_length: int, beam_size: int, max_len: int
    ) -> tuple[torch.Tensor, float, torch.Tensor | None]:
        """Beam search for one source (S,): keeps the `beam_size` most probable prefixes,
        finishes when the best finished hypothesis outscores every open one (log
        probabilities only fall as a prefix grows, so that one is then the best the beam can
        find). Unlike greedy decoding it may stop at an <eos> it passed over earlier, if no
        longer prefix stays more probable. Returns (tokens (L,) ending at <eos>, its log
        probability, attention (L, S) or None)."""
        if beam_size < 1 or max_len < 1:
            raise NNJError(f"beam_size and max_len must be at least 1, got {beam_size} and {max_len}")
        base = self.encode(src.reshape(1, -1), torch.tensor([src_length], device=src.device))
        scores = torch.zeros(1, device=src.device)  # (k,) log P of each open prefix
        prefixes = torch.full((1, 1), self.bos_id, dtype=torch.long, device=src.device)
        attn = src.new_zeros((1, 0, src.shape[-1]), dtype=torch.float)
        state, feed = base.state, None
        best: Any = None  # (log P, tokens, attention) of the best finished hypothesis
        for _ in range(max_len):
            memory = base.repeat(len(prefixes))
            logits, state, feed, w = self.step(prefixes[:, -1], state, feed, memory)
            logp = scores.unsqueeze(1) + torch.log_softmax(logits, -1)  # (k, V)
            ended = int(logp[:, self.eos_id].argmax())  # the best prefix to end here
            if best is None or float(logp[ended, self.eos_id]) > best[0]:
                w_row = attn[ended] if w is None else torch.cat([attn[ended], w[ended : ended + 1]])
                tokens = torch.cat([prefixes[ended, 1:], prefixes.new_tensor([self.eos_id])])
                best = (float(logp[ended, self.eos_id]), tokens, w_row)
            logp[:, self.eos_id] = float("-inf")  # the open prefixes continue with other tokens
            top = logp.flatten().topk(min(beam_size, logp.numel()))
            keep = [
                (score, *divmod(index, logp.shape[1]))
                for score, index in zip(top.values.tolist(), top.indices.tolist(), strict=True)
                if score > float("-inf")
            ]
            if not keep or best[0] >= keep[0][0]:
                break
            rows = torch.tensor([r for _, r, _ in keep], device=src.device)
            scores = torch.tensor([s for s, _, _ in keep], device=src.device)
            prefixes = torch.cat([prefixes[rows], torch.tensor([[t] for _, _, t in keep], device=src.device)], 1)
            attn = attn[rows] if w is None else torch.cat([attn[rows], w[rows].unsqueeze(1)], 1)
            state = tuple(s[rows] for s in state) if isinstance(state, tuple) else state[rows]
            feed = None if feed is None else feed[rows]
        return best[1], best[0], (best[2] if self.attention != "none" else None)
