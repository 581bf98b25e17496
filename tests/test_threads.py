"""training.threads: the auto policy counts a batch's multiply-adds without disturbing training."""

import torch
from torch import nn

from nnjournal import fit
from nnjournal.training.threads import SMALL_MACS, batch_macs, intra_op_threads


def test_multiply_adds_are_counted_for_linear_convolution_and_recurrent_layers():
    mlp = nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 2))
    x = torch.randn(8, 40)
    assert batch_macs(mlp, lambda: mlp(x)) == 8 * (40 * 64 + 64 * 2)

    conv = nn.Conv2d(3, 16, 3, padding=1)
    img = torch.randn(2, 3, 10, 10)
    assert batch_macs(conv, lambda: conv(img)) == 2 * 16 * 10 * 10 * 3 * 3 * 3

    lstm = nn.LSTM(5, 7, batch_first=True)
    seq = torch.randn(4, 6, 5)
    assert batch_macs(lstm, lambda: lstm(seq)) == 4 * 7 * (5 + 7) * 4 * 6


def test_auto_trains_a_small_network_on_one_thread_and_puts_the_count_back():
    before = torch.get_num_threads()
    x, y = torch.randn(64, 10), torch.randint(0, 3, (64,))
    history = fit(nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)), (x, y), epochs=1)
    assert history.threads == 1
    assert torch.get_num_threads() == before
    assert history.to_dict()["threads"] == 1  # the journal says which count trained


def test_an_explicit_count_is_used():
    x, y = torch.randn(64, 10), torch.randint(0, 3, (64,))
    history = fit(nn.Linear(10, 3), (x, y), epochs=1, threads=2)
    assert history.threads == 2


def test_auto_leaves_a_large_network_on_torchs_default():
    x, y = torch.randn(64, 2048), torch.randint(0, 10, (64,))
    model = nn.Sequential(nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10))
    assert batch_macs(model, lambda: model(x)) > SMALL_MACS
    with intra_op_threads(2):
        history = fit(model, (x, y), epochs=1)
        assert history.threads == 2


def test_counting_changes_nothing_in_training():
    """The count runs a forward pass: in evaluation mode with the random state put back, so
    batch-norm statistics and dropout masks are those of a run that never counted."""
    x, y = torch.randn(96, 12), torch.randint(0, 3, (96,))

    def model():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))

    torch.manual_seed(1)
    a = model()
    fit(a, (x, y), epochs=2, threads="auto")
    torch.manual_seed(1)
    b = model()
    fit(b, (x, y), epochs=2, threads=1)
    for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q)
