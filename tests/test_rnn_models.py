"""Recurrent models: padding never changes a sequence's prediction or loss, the heads have the
shapes of their input/output patterns, and the encoder's switches do what they say."""

from __future__ import annotations

import pytest
import torch

from nnjournal.data.bundle import Split
from nnjournal.data.sequences import IGNORE, SequenceSplit, pad_sequences
from nnjournal.errors import NNJError
from nnjournal.models.rnn import Forecaster, SequenceClassifier, SequenceEncoder, SequenceTagger
from nnjournal.tasks.base import direction
from nnjournal.tasks.sequence_classification import SequenceClassification, SequenceTagging

pytestmark = pytest.mark.usefixtures("one_thread")


def _padded(seqs: list[torch.Tensor], extra: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The sequences padded to max length + `extra` with random junk (not zeros), so a model
    that reads padding would show it."""
    x, lengths = pad_sequences(seqs)
    x = torch.cat([x, torch.zeros(len(seqs), extra, *x.shape[2:], dtype=x.dtype)], dim=1)
    g = torch.Generator().manual_seed(seed)
    junk = torch.randn(x.shape, generator=g) * 5 if x.is_floating_point() else torch.randint(1, 9, x.shape, generator=g)
    pad = torch.arange(x.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)
    pad = pad.view(*pad.shape, *([1] * (x.dim() - 2)))
    return torch.where(pad, junk.to(x.dtype), x), lengths


def _sequences(seed: int, n: int = 6, features: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(int(t), features, generator=g) for t in torch.randint(1, 9, (n,), generator=g)]


CONFIGS = [
    {"cell": "lstm", "pooling": "last"},
    {"cell": "gru", "pooling": "mean", "bidirectional": True},
    {"cell": "rnn", "pooling": "attention", "bidirectional": True},
    {"cell": "lstm", "pooling": "attention", "num_layers": 3, "residual": True, "dropout": 0.3},
    {"cell": "gru", "pooling": "last", "bidirectional": True, "implementation": "manual", "num_layers": 2},
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_padding_does_not_change_a_classification(config: dict) -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(4, in_features=3, hidden_size=8, **config).eval()
    seqs = _sequences(1)
    short, lengths = _padded(seqs, 0, seed=2)
    long, _ = _padded(seqs, 7, seed=3)
    a, b = model(short, lengths), model(long, lengths)
    assert torch.allclose(a, b, atol=1e-5)
    alone = torch.cat([model(s.unsqueeze(0)) for s in seqs])  # each sequence on its own, unpadded
    assert torch.allclose(a, alone, atol=1e-5)
    assert not torch.allclose(model(long), alone, atol=1e-3)  # ignoring the lengths would show
    task = SequenceClassification(4)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    la = task.evaluation_step(model, SequenceSplit(short, y, lengths=lengths))
    lb = task.evaluation_step(model, SequenceSplit(long, y, lengths=lengths))
    assert torch.allclose(la.sums["loss"], lb.sums["loss"], atol=1e-5) and la.count == lb.count == 6


def test_padding_does_not_change_the_tagging_loss() -> None:
    torch.manual_seed(0)
    model = SequenceTagger(5, vocab_size=10, embedding_dim=6, hidden_size=8, bidirectional=True).eval()
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(0, 10, (int(t),), generator=g) for t in (3, 7, 1, 5)]
    tags = [torch.randint(0, 5, (len(s),), generator=g) for s in seqs]
    task = SequenceTagging(5)
    outs, metrics = [], []
    for extra, seed in ((0, 1), (6, 2)):
        x, lengths = _padded(seqs, extra, seed)
        y, _ = pad_sequences(tags, pad_value=3)  # a real class as padding target: must be masked
        y = torch.cat([y, torch.full((4, extra), 3)], dim=1)
        outs.append(task.evaluation_step(model, SequenceSplit(x, y, lengths=lengths)))
        metrics.append(task.evaluate(model, SequenceSplit(x, y, lengths=lengths)))
    assert metrics[0] == pytest.approx(metrics[1], abs=1e-6)
    assert all(direction(task, k) for k in metrics[0])
    assert outs[0].count == outs[1].count == 16  # real steps only
    assert torch.allclose(outs[0].sums["loss"], outs[1].sums["loss"], atol=1e-5)
    per_seq = sum(
        float(task.evaluation_step(model, Split(s.unsqueeze(0), t.unsqueeze(0))).sums["loss"])
        for s, t in zip(seqs, tags, strict=True)
    )
    assert float(outs[0].sums["loss"]) == pytest.approx(per_seq, abs=1e-4)


def test_tagging_ignores_unscored_targets() -> None:
    torch.manual_seed(0)
    model = SequenceTagger(3, vocab_size=4, embedding_dim=4, hidden_size=4)
    x = torch.randint(0, 4, (2, 5))
    y = torch.full((2, 5), IGNORE)
    y[:, -2:] = 1
    out = SequenceTagging(3).training_step(model, Split(x, y), None)
    logits = model(x)[:, -2:].reshape(-1, 3)
    assert out.count == 4
    assert torch.allclose(out.loss, torch.nn.functional.cross_entropy(logits, torch.ones(4, dtype=torch.long)))


def test_head_shapes() -> None:
    x = torch.randn(3, 7, 2)
    assert SequenceClassifier(5, in_features=2, hidden_size=4)(x).shape == (3, 5)
    assert SequenceTagger(5, in_features=2, hidden_size=4, bidirectional=True)(x).shape == (3, 7, 5)
    assert Forecaster(in_features=2, horizon=4, hidden_size=4)(x).shape == (3, 4)
    assert Forecaster(horizon=2, hidden_size=4)(torch.randn(3, 12)).shape == (3, 2)  # (B, W) series
    assert SequenceClassifier(10, hidden_size=4)(torch.randn(3, 40)).shape == (3, 10)  # MNIST-1D rows


def test_attention_weights_cover_real_steps_only() -> None:
    model = SequenceClassifier(2, in_features=3, hidden_size=4, pooling="attention").eval()
    x, lengths = _padded(_sequences(4, n=3), 2, seed=0)
    model(x, lengths)
    w = model.last_weights
    assert torch.allclose(w.sum(1), torch.ones(3))
    for i, n in enumerate(lengths.tolist()):
        assert (w[i, n:] == 0).all() and (w[i, :n] > 0).all()


def test_encoder_switches() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)
    plain = SequenceEncoder(8, 8, num_layers=2)
    skip = SequenceEncoder(8, 8, num_layers=2, residual=True)
    skip.load_state_dict(plain.state_dict())
    out_plain, _ = plain(x)
    out_skip, _ = skip(x)
    assert torch.allclose(out_skip, _residual_ref(plain, x), atol=1e-6)
    assert not torch.allclose(out_plain, out_skip)
    drop = SequenceEncoder(8, 8, num_layers=2, dropout=0.5)
    drop.load_state_dict(plain.state_dict())
    assert torch.allclose(drop.eval()(x)[0], out_plain)  # dropout only while training
    assert not torch.allclose(drop.train()(x)[0], out_plain)
    bi = SequenceEncoder(8, 6, bidirectional=True, num_layers=2)
    out, (h, c) = bi(x)
    assert out.shape == (2, 5, 12) and h.shape == (4, 2, 6) and c.shape == (4, 2, 6)
    with pytest.raises(NNJError, match="model.cell must be one of"):
        SequenceEncoder(8, 8, cell="transformer")
    with pytest.raises(NNJError, match="at least one step"):
        SequenceEncoder(8, 8)(x, torch.tensor([5, 0]))


def _residual_ref(enc: SequenceEncoder, x: torch.Tensor) -> torch.Tensor:
    """Two layers with skips, written out: h1 = f1(x) + x, h2 = f2(h1) + h1."""
    h1 = enc.layers[0](x)[0] + x
    return enc.layers[1](h1)[0] + h1


# ---------------------------------------------------------------------------- chrono initialisation
def test_chrono_forget_bias_spans_the_sequence_length_and_quiets_the_input_gate():
    from nnjournal import models
    from nnjournal.config.model import CharLMModel, RNNModel
    from nnjournal.data.bundle import DataInfo

    T, H = 204, 64
    info = DataInfo("copy", (T,), n_classes=4, vocab_size=6)
    torch.manual_seed(0)
    net = models.build(RNNModel(cell="lstm", hidden=H, head="step", forget_bias="chrono"), info, 4)
    b_ih = next(p for n, p in net.named_parameters() if "bias_ih" in n).detach()
    b_hh = next(p for n, p in net.named_parameters() if "bias_hh" in n).detach()
    forget, inputs = b_ih[H : 2 * H], b_ih[:H]
    # log U(1, T - 1): memory times from 1 step to the whole sequence, spread over the units
    assert float(forget.min()) >= 0 and float(forget.max()) <= torch.log(torch.tensor(T - 1.0))
    assert float(forget.max()) > 4.0 and float(forget.min()) < 1.0
    torch.testing.assert_close(inputs, -forget)
    assert torch.count_nonzero(b_hh[: 2 * H]) == 0
    # a character LM has no fixed length: chrono is refused with one clear message
    with pytest.raises(NNJError, match="chrono"):
        models.build(CharLMModel(cell="lstm", hidden=8, forget_bias="chrono"), DataInfo("text", (), vocab_size=5), 5)
