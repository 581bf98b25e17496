"""The gradient-through-time probe: causal, geometric for a contracting Elman network, and
kept alive by an LSTM whose forget gate stays open."""

from __future__ import annotations

import torch

from nnjournal.evaluation.gradients_through_time import input_gradient_norms
from nnjournal.models.rnn import CharLM, SequenceEncoder


def test_no_gradient_reaches_steps_after_the_loss() -> None:
    torch.manual_seed(0)
    enc = SequenceEncoder(3, 8, cell="gru")
    g = input_gradient_norms(lambda z: enc(z)[0], torch.randn(4, 12, 3), lambda out: out[:, 6].sum())
    assert (g[7:] == 0).all() and (g[:7] > 0).all()
    assert all(p.grad is None for p in enc.parameters())  # parameters' gradients untouched


def test_elman_gradients_vanish_where_an_open_forget_gate_keeps_them() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 40, 3)
    last = lambda out: out[:, -1].pow(2).sum()  # noqa: E731
    elman = SequenceEncoder(3, 16, cell="rnn")
    with torch.no_grad():
        elman.layers[0].weight_hh_l0.mul_(0.5)  # a contracting recurrence
    ge = input_gradient_norms(lambda z: elman(z)[0], x, last)
    ratios = ge[:-1] / ge[1:]  # step t relative to step t + 1
    assert (ratios < 1).all()  # shrinking step after step towards the past
    assert ge[0] / ge[-1] < 1e-6
    lstm = SequenceEncoder(3, 16, cell="lstm")
    with torch.no_grad():
        lstm.layers[0].bias_ih_l0[16:32] = 6.0  # forget gate ~ sigmoid(6) = 0.998: remember
    gl = input_gradient_norms(lambda z: lstm(z)[0], x, last)
    assert gl[0] / gl[-1] > 1e-2  # the cell state's additive path carries it back 40 steps


def test_token_models_are_probed_at_the_embeddings() -> None:
    torch.manual_seed(0)
    lm = CharLM(7, embedding_dim=5, hidden_size=8)
    ids = torch.randint(0, 7, (3, 10))
    g = input_gradient_norms(lambda e: lm.head(lm.encoder(e)[0]), ids, lambda logits: logits[:, -1].sum(), lm.embedding)
    assert g.shape == (10,) and (g > 0).all()
