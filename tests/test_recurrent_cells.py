"""The gate-by-gate cells reproduce PyTorch's fused modules to 1e-5 with copied weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nnjournal.models.recurrent_cells import ElmanCell, GRUCell, LSTMCell, ManualRNN
from nnjournal.models.rnn import SequenceEncoder

FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELLS = {"rnn": (ElmanCell, nn.RNNCell), "lstm": (LSTMCell, nn.LSTMCell), "gru": (GRUCell, nn.GRUCell)}


def _close(a, b) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _close(x, y)
        return
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=1e-5, rtol=0), float((a - b).abs().max())


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_cell_matches_torch_cell(mode: str, seed: int) -> None:
    torch.manual_seed(seed)
    mine, theirs = CELLS[mode][0](5, 7), CELLS[mode][1](5, 7)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 5)
    h = torch.randn(4, 7)
    state = (h, torch.randn(4, 7)) if mode == "lstm" else h
    _close(mine(x, state), theirs(x, state))


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_manual_network_matches_fused_with_initial_state(mode: str, seed: int, bidirectional: bool) -> None:
    torch.manual_seed(seed)
    fused = FUSED[mode](3, 6, num_layers=2, batch_first=True, bidirectional=bidirectional)
    manual = ManualRNN(mode, 3, 6, num_layers=2, bidirectional=bidirectional)
    manual.load_state_dict(fused.state_dict())  # same parameter names: copies both ways
    D = 2 if bidirectional else 1
    x = torch.randn(4, 9, 3)
    h0 = torch.randn(2 * D, 4, 6)
    state = (h0, torch.randn(2 * D, 4, 6)) if mode == "lstm" else h0
    out_f, s_f = fused(x, state)
    out_m, s_m = manual(x, state)
    _close(out_m, out_f)
    _close(s_m, s_f)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", [0, 3])
def test_manual_with_lengths_matches_packed_fused(mode: str, seed: int) -> None:
    """Past its length a sequence's state stops updating and its outputs are zero, exactly as
    packing does for the fused module (backward direction included)."""
    torch.manual_seed(seed)
    fused = SequenceEncoder(3, 5, cell=mode, num_layers=2, bidirectional=True)
    manual = SequenceEncoder(3, 5, cell=mode, num_layers=2, bidirectional=True, implementation="manual")
    manual.load_state_dict(fused.state_dict())
    x = torch.randn(5, 8, 3)
    lengths = torch.tensor([8, 3, 5, 1, 7])
    out_f, s_f = fused(x, lengths)
    out_m, s_m = manual(x, lengths)
    _close(out_m, out_f)
    _close(s_m, s_f)
    assert out_m[1, 3:].abs().max() == 0  # padding outputs are zero


def test_gradients_match_fused() -> None:
    torch.manual_seed(0)
    fused = nn.LSTM(3, 4, batch_first=True)
    manual = ManualRNN("lstm", 3, 4)
    manual.load_state_dict(fused.state_dict())
    x = torch.randn(2, 6, 3)
    fused(x)[0].pow(2).sum().backward()
    manual(x)[0].pow(2).sum().backward()
    for name, p in fused.named_parameters():
        _close(dict(manual.named_parameters())[name].grad, p.grad)


def test_a_wrong_gate_order_would_be_caught() -> None:
    """The comparison is sharp: swapping the LSTM's forget and input gate weights breaks it."""
    torch.manual_seed(0)
    fused = nn.LSTM(3, 4, batch_first=True)
    manual = ManualRNN("lstm", 3, 4)
    sd = fused.state_dict()
    i, f, g, o = sd["weight_ih_l0"].chunk(4)
    sd = {**sd, "weight_ih_l0": torch.cat([f, i, g, o])}
    manual.load_state_dict(sd)
    x = torch.randn(2, 6, 3)
    assert not torch.allclose(manual(x)[0], fused(x)[0], atol=1e-3)


def test_char_lm_manual_implementation_loads_fused_weights() -> None:
    """A recipe's implementation switch changes the code path, not the model: the same
    state dict gives the same logits and final state."""
    from nnjournal.models.rnn import CharLM

    torch.manual_seed(0)
    fused = CharLM(11, embedding_dim=6, hidden_size=10, num_layers=2, cell="gru")
    manual = CharLM(11, embedding_dim=6, hidden_size=10, num_layers=2, cell="gru", implementation="manual")
    manual.load_state_dict(fused.state_dict())
    ids = torch.randint(0, 11, (3, 14))
    (lf, sf), (lm, sm) = fused(ids), manual(ids)
    _close(lm, lf)
    _close(sm, sf)
