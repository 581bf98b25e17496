"""Generated sequence tasks, images and signals as sequences, and sequence augmentation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import torch

from nnjournal.data import sequence_augment as aug
from nnjournal.data.sequences import (
    IGNORE,
    TokenVocab,
    adding_problem,
    copy_task,
    dates_task,
    images_as_sequences,
    shuffle_time,
    signals_as_sequences,
)
from nnjournal.errors import NNJError
from tests.conftest import require_data


# ---------------------------------------------------------------------------- dates
def test_dates_are_seeded_unseen_and_correct() -> None:
    train, test, vocab = dates_task(300, 100, seed=0)
    again, _, _ = dates_task(300, 100, seed=0)
    other, _, _ = dates_task(300, 100, seed=1)
    assert torch.equal(train.x, again.x) and not torch.equal(train.x, other.x)
    iso_train = {vocab.decode(t[1:]) for t in train.y}
    iso_test = {vocab.decode(t[1:]) for t in test.y}
    assert len(iso_train) == 300 and not iso_train & iso_test  # test dates never seen in training
    for src, n, tgt, m in zip(test.x, test.lengths, test.y, test.target_lengths, strict=True):
        day = dt.date.fromisoformat(vocab.decode(tgt[1:]))
        text = vocab.decode(src[:n])
        assert str(day.day) in text and (str(day.year) in text or f"-{day.year % 100:02d}" in text)
        assert (src[n:] == TokenVocab.PAD).all() and n == len(text)
        assert tgt[0] == TokenVocab.BOS and tgt[m - 1] == TokenVocab.EOS and (tgt[m:] == TokenVocab.PAD).all()
    assert len(set(test.lengths.tolist())) > 3  # several formats: varying source lengths


def test_token_vocab_refuses_unknown_characters() -> None:
    _, _, vocab = dates_task(50, 10, seed=0)
    with pytest.raises(NNJError, match=r"\['@'\] are not in the vocabulary"):
        vocab.encode("3 May @ 2020")
    assert TokenVocab.from_dict(vocab.to_dict()).chars == vocab.chars


# ---------------------------------------------------------------------------- long dependencies
def test_adding_problem() -> None:
    s = adding_problem(200, 30, seed=3)
    assert s.x.shape == (200, 30, 2)
    markers = s.x[:, :, 1]
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :15].sum(1) == 1).all()  # one marker in each half
    assert torch.allclose((s.x[:, :, 0] * markers).sum(1), s.y)
    assert torch.equal(adding_problem(200, 30, seed=3).x, s.x)
    assert float(((s.y - 1) ** 2).mean()) == pytest.approx(1 / 6, abs=0.04)  # the mean predictor's MSE


def test_copy_task() -> None:
    s = copy_task(50, delay=20, seed=0, n_symbols=8, memory=5)
    assert s.x.shape == s.y.shape == (50, 30)
    assert torch.equal(s.y[:, -5:], s.x[:, :5])  # repeat the first five symbols at the end
    assert (s.y[:, :-5] == IGNORE).all()
    assert (s.x[:, 24] == 9).all() and (s.x[:, 5:24] == 8).all() and (s.x[:, 25:] == 8).all()
    assert int(s.x[:, :5].max()) < 8


# ---------------------------------------------------------------------------- images and signals
def test_mnist_rows_as_time_steps() -> None:
    from nnjournal.data.idx import read_idx

    images = read_idx(require_data("mnist/t10k-images-idx3-ubyte.gz"))[:64]  # (64, 28, 28) uint8
    x = torch.from_numpy(np.array(images)).unsqueeze(1)  # (64, 1, 28, 28) as the image loaders keep them
    seq = images_as_sequences(x)
    assert seq.shape == (64, 28, 28) and seq.dtype == torch.float32
    assert torch.equal(seq[5, 10], x[5, 0, 10].float() / 255)  # step 10 = row 10
    with pytest.raises(NNJError, match="grey images"):
        images_as_sequences(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))


def test_signals_and_the_shuffled_control() -> None:
    x = torch.arange(12.0).view(3, 4)
    assert signals_as_sequences(x).shape == (3, 4, 1)
    s = shuffle_time(x, seed=0)
    perm = (s[0]).long()
    assert sorted(perm.tolist()) == [0, 1, 2, 3] and perm.tolist() != [0, 1, 2, 3]
    assert torch.equal(s, x[:, perm])  # one permutation for every sequence
    assert torch.equal(shuffle_time(x, seed=0), s)


# ---------------------------------------------------------------------------- augmentation
def _series(n: int = 8, T: int = 50) -> torch.Tensor:
    t = torch.linspace(0, 6.28, T)
    return torch.stack([torch.sin(t * (1 + i / 4)) + 2 for i in range(n)])


@pytest.mark.parametrize("fn", [aug.jitter, aug.scaling, aug.window_slice, aug.time_warp])
def test_augmentations_keep_shape_and_are_seeded(fn) -> None:
    x = _series()
    a = fn(x, generator=torch.Generator().manual_seed(0))
    assert a.shape == x.shape
    assert torch.equal(a, fn(x, generator=torch.Generator().manual_seed(0)))
    assert not torch.allclose(a, x, atol=1e-4)
    assert fn(x.unsqueeze(-1), generator=torch.Generator().manual_seed(0)).shape == (8, 50, 1)


def test_augmentations_do_what_they_say() -> None:
    x = _series()
    g = torch.Generator().manual_seed(1)
    noise = aug.jitter(x, 0.05, g) - x
    assert float(noise.std()) == pytest.approx(0.05, rel=0.15)
    ratio = aug.scaling(x, 0.2, g) / x
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)  # one factor per sequence
    assert torch.allclose(aug.window_slice(x, 1.0, g), x, atol=1e-5)  # the whole window: unchanged
    assert torch.allclose(aug.time_warp(x, 0.0, generator=g), x, atol=1e-5)  # constant speed: unchanged
    warped = aug.time_warp(x, 0.3, generator=g)
    assert torch.allclose(warped[:, [0, -1]], x[:, [0, -1]], atol=1e-5)  # same start and end
    sliced = aug.window_slice(x, 0.5, g)
    assert (sliced.max(1).values <= x.max(1).values + 1e-6).all()  # values come from the series
    with pytest.raises(NNJError, match="ratio must be in"):
        aug.window_slice(x, 0.0)
    assert np.isfinite(sliced.numpy()).all()
