"""The encoder-decoder: padding-invariant, teacher forcing as specified, beam search exact
when the beam is wide, and attention learning date translation that the plain model cannot."""

from __future__ import annotations

import itertools
import time

import pytest
import torch

from nnjournal.data.sequences import Seq2SeqSplit, TokenVocab, dates_task, pad_sequences
from nnjournal.errors import NNJError
from nnjournal.models.seq2seq import Seq2Seq
from nnjournal.tasks.base import direction
from nnjournal.tasks.seq2seq import Seq2SeqTask

pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(seed: int = 0, extra: int = 0, V: int = 9) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    src = [torch.randint(3, V, (int(n),), generator=g) for n in (4, 9, 2, 6)]
    x, lengths = pad_sequences(src, TokenVocab.PAD)
    junk = torch.randint(3, V, (4, x.shape[1] + extra), generator=torch.Generator().manual_seed(seed + 100 + extra))
    x = torch.cat([x, torch.zeros(4, extra, dtype=torch.long)], 1)
    x = torch.where(torch.arange(x.shape[1]) < lengths.unsqueeze(1), x, junk)
    tgt = torch.cat([torch.ones(4, 1, dtype=torch.long), torch.randint(3, V, (4, 5), generator=g),
                     torch.full((4, 1), 2)], 1)
    return x, lengths, tgt


@pytest.mark.parametrize(("attention", "cell"), [("bahdanau", "gru"), ("luong", "lstm"), ("none", "gru")])
def test_source_padding_changes_nothing(attention: str, cell: str) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(9, 9, embedding_dim=8, hidden_size=12, attention=attention, cell=cell).eval()
    x1, lengths, tgt = _batch(extra=0)
    x2, _, _ = _batch(extra=5)
    l1, a1 = model(x1, lengths, tgt)
    l2, a2 = model(x2, lengths, tgt)
    assert l1.shape == (4, 6, 9)
    assert torch.allclose(l1, l2, atol=1e-5)
    if attention != "none":
        assert a1.shape == (4, 6, x1.shape[1]) and torch.allclose(a1.sum(-1), torch.ones(4, 6))
        assert torch.allclose(a1, a2[:, :, : x1.shape[1]], atol=1e-6)
        assert (a2[2, :, 2:] == 0).all()  # the 2-token source: no weight on its padding
    else:
        assert a1 is None


def test_teacher_forcing_feeds_the_truth_or_the_model_own_output() -> None:
    torch.manual_seed(0)
    model = Seq2Seq(9, 9, embedding_dim=8, hidden_size=12).eval()
    x, lengths, tgt = _batch()
    changed = tgt.clone()
    changed[:, 3] = 3 + (tgt[:, 3] - 2) % 6  # a different true token at step 3
    forced, free = model(x, lengths, tgt, 1.0)[0], model(x, lengths, tgt, 0.0)[0]
    forced_c, free_c = model(x, lengths, changed, 1.0)[0], model(x, lengths, changed, 0.0)[0]
    assert torch.allclose(forced[:, :3], forced_c[:, :3]) and not torch.allclose(forced[:, 3:], forced_c[:, 3:])
    assert torch.allclose(free, free_c)  # ratio 0: the targets after <bos> are never read
    greedy, _ = model.greedy_decode(x, lengths, max_len=6)
    steps = greedy.shape[1]
    running = free.argmax(-1)[:, :steps]
    ended = torch.cumsum(greedy == 2, 1) - (greedy == 2).long() > 0  # after each sequence's <eos>
    assert torch.equal(running[~ended], greedy[~ended])  # free running = greedy decoding
    half = [model(x, lengths, tgt, 0.5, torch.Generator().manual_seed(s))[0] for s in (1, 1, 2)]
    assert torch.equal(half[0], half[1]) and not torch.equal(half[0], half[2])  # seeded coin flips


@torch.no_grad()
def _log_prob(model: Seq2Seq, x: torch.Tensor, length: int, tokens: list[int]) -> float:
    tgt = torch.tensor([[1, *tokens]])
    logits, _ = model(x.unsqueeze(0), torch.tensor([length]), tgt)
    return float(torch.log_softmax(logits[0], -1).gather(1, tgt[0, 1:].unsqueeze(1)).sum())


@pytest.mark.parametrize("attention", ["bahdanau", "luong", "none"])
def test_a_wide_beam_finds_the_most_probable_output(attention: str) -> None:
    """With a beam wider than every prefix, beam search must return the best of all
    outputs of up to 4 tokens, found here by brute force (V = 5: 4^3 prefixes + <eos>)."""
    torch.manual_seed(1)
    model = Seq2Seq(9, 5, embedding_dim=6, hidden_size=8, attention=attention).eval()
    x, lengths, _ = _batch()
    src, n = x[1], int(lengths[1])
    tokens, score, attn = model.beam_decode(src, n, beam_size=64, max_len=4)
    candidates = [list(p) + [2] for k in range(4) for p in itertools.product([0, 1, 3, 4], repeat=k)]
    scored = {tuple(c): _log_prob(model, src, n, c) for c in candidates}
    best = max(scored, key=scored.get)
    assert tuple(tokens.tolist()) == best
    assert score == pytest.approx(scored[best], abs=1e-4)
    if attention != "none":
        assert attn.shape == (len(tokens), len(src)) and torch.allclose(attn.sum(1), torch.ones(len(tokens)))
    narrow, narrow_score, _ = model.beam_decode(src, n, beam_size=1, max_len=4)
    assert narrow_score <= score + 1e-6 and narrow_score == pytest.approx(_log_prob(model, src, n, narrow.tolist()), abs=1e-4)
    with pytest.raises(NNJError, match="beam_size and max_len must be at least 1"):
        model.beam_decode(src, n, beam_size=0, max_len=4)


def _train(attention: str, train: Seq2SeqSplit, vocab: TokenVocab, epochs: int) -> Seq2Seq:
    torch.manual_seed(0)
    model = Seq2Seq(len(vocab), len(vocab), embedding_dim=16, hidden_size=48, attention=attention)
    task = Seq2SeqTask(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in train.batch_indices(64, g, "cpu"):
            out = task.training_step(model, train.take(idx), None)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    return model


def test_attention_learns_to_translate_unseen_dates() -> None:
    train, test, vocab = dates_task(3000, 300, seed=0)
    task = Seq2SeqTask(len(vocab))
    assert direction(task, "val_exact_match") == "max"
    start = time.perf_counter()
    with_attention = task.evaluate(_train("bahdanau", train, vocab, 4), test)
    without = task.evaluate(_train("none", train, vocab, 4), test)
    print(f"exact match on unseen dates: attention {with_attention['exact_match']:.3f}, "
          f"none {without['exact_match']:.3f} ({time.perf_counter() - start:.1f}s)")
    assert with_attention["exact_match"] >= 0.9
    assert all(direction(task, k) for k in with_attention)
    assert without["exact_match"] < with_attention["exact_match"] - 0.3
    src, n = test.x[0], int(test.lengths[0])
    model = _train("bahdanau", train, vocab, 0)  # untrained: decoding still well formed
    tokens, _, attn = model.beam_decode(src, n, beam_size=3, max_len=12)
    assert attn.shape == (len(tokens), len(src))
