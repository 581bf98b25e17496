"""Sequence data sets: variable-length batches, generated tasks with known answers, and images
or MNIST-1D signals read as sequences.

Generated tasks (seeded, nothing to download):
- date-format translation ("3 March 2021" -> "2021-03-03"): sequence to sequence, with
  inputs of varying length; train and test dates are disjoint, so test pairs are unseen;
- the adding problem (Hochreiter & Schmidhuber 1997): add the two marked numbers of a long
  sequence, a regression whose answer depends on two far-apart steps;
- the copy task: remember the first symbols through a long blank delay and repeat them.
Both long-dependency tasks grow harder with their length, which is what the gradient study
measures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import torch

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError

IGNORE = -100  # target of a step that is not scored (F.cross_entropy's ignore_index)


@dataclass
class SequenceSplit(Split):
    """Padded sequences x (n, T) ids or (n, T, F) features, targets y (n,) or (n, T), and
    `lengths` (n,): the real steps of each sequence (the rest is padding)."""

    lengths: torch.Tensor = None  # type: ignore[assignment]


@dataclass
class Seq2SeqSplit(Split):
    """Source ids x (n, S) with `lengths`; target ids y (n, T) = <bos> ... <eos> <pad>...,
    with `target_lengths` counting <bos> and <eos>."""

    lengths: torch.Tensor = None  # type: ignore[assignment]
    target_lengths: torch.Tensor = None  # type: ignore[assignment]


def pad_sequences(seqs: list[torch.Tensor], pad_value: float = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(padded (n, T_max, ...), lengths (n,)) from sequences of different lengths."""
    if not seqs:
        raise NNJError("no sequences to pad")
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    out = seqs[0].new_full((len(seqs), int(lengths.max()), *seqs[0].shape[1:]), pad_value)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


# ---------------------------------------------------------------------------- vocabulary
class TokenVocab:
    """Characters plus three reserved ids: 0 = <pad>, 1 = <bos>, 2 = <eos>."""

    PAD, BOS, EOS = 0, 1, 2
    SPECIALS = ("<pad>", "<bos>", "<eos>")

    def __init__(self, chars: list[str]) -> None:
        self.chars = list(chars)
        self.index = {c: i + 3 for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars) + 3

    def encode(self, text: str, wrap: bool = False) -> torch.Tensor:
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise NNJError(f"characters {unknown} are not in the vocabulary (known: {''.join(self.chars)!r})")
        ids = [self.index[c] for c in text]
        return torch.tensor([self.BOS, *ids, self.EOS] if wrap else ids, dtype=torch.int64)

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        """Text up to the first <eos>, specials dropped."""
        out = []
        for i in (int(v) for v in ids):
            if i == self.EOS:
                break
            if i >= 3:
                out.append(self.chars[i - 3])
        return "".join(out)

    def to_dict(self) -> dict[str, object]:
        return {"kind": "tokens", "specials": list(self.SPECIALS), "chars": self.chars}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> TokenVocab:
        return cls(list(d["chars"]))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- dates
DATE_FORMATS = (
    "{d} {B} {Y}",  # 3 March 2021
    "{B} {d}, {Y}",  # March 3, 2021
    "{dd}/{mm}/{Y}",  # 03/03/2021
    "{a} {d} {b} {Y}",  # Wed 3 Mar 2021
    "{Y}.{mm}.{dd}",  # 2021.03.03
    "{d}-{b}-{y}",  # 3-Mar-21 (two-digit years: 1950..2049, unambiguous in this range)
    "{d}th of {B}, {Y}",
)
_FIRST, _LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)


def format_date(day: dt.date, fmt: str) -> str:
    """English names spelt out here, not by strftime, so the locale cannot change the data."""
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    return fmt.format(
        d=day.day, dd=f"{day.day:02d}", mm=f"{day.month:02d}", Y=day.year, y=f"{day.year % 100:02d}",
        B=months[day.month - 1], b=months[day.month - 1][:3], a=weekdays[day.weekday()][:3],
    )


def dates_task(n_train: int, n_test: int, seed: int) -> tuple[Seq2SeqSplit, Seq2SeqSplit, TokenVocab]:
    """(train, test, vocab) of human-written dates -> ISO 8601. Each date appears in one split
    only, in a randomly chosen format."""
    days_total = (_LAST - _FIRST).days + 1
    if n_train + n_test > days_total:
        raise NNJError(
            f"data.n_train + data.n_val + data.n_test = {n_train + n_test:,} dates, but only {days_total:,} "
            "distinct dates exist (each appears in one split only): lower them"
        )
    rng = np.random.default_rng(seed)
    offsets = rng.choice(days_total, n_train + n_test, replace=False)
    pairs = []
    for off in offsets:
        day = _FIRST + dt.timedelta(days=int(off))
        pairs.append((format_date(day, DATE_FORMATS[rng.integers(len(DATE_FORMATS))]), day.isoformat()))
    chars = sorted({c for src, tgt in pairs for c in src + tgt})
    vocab = TokenVocab(chars)

    def split(items: list[tuple[str, str]]) -> Seq2SeqSplit:
        src, src_len = pad_sequences([vocab.encode(s) for s, _ in items], TokenVocab.PAD)
        tgt, tgt_len = pad_sequences([vocab.encode(t, wrap=True) for _, t in items], TokenVocab.PAD)
        return Seq2SeqSplit(src, tgt, lengths=src_len, target_lengths=tgt_len)

    return split(pairs[:n_train]), split(pairs[n_train:]), vocab


# ---------------------------------------------------------------------------- long dependencies
def adding_problem(n: int, length: int, seed: int) -> Split:
    """x (n, T, 2): a random number in [0, 1) and a marker per step, two markers set (one in
    each half); y (n,): the sum of the two marked numbers. Predicting 1 (the mean) scores an
    MSE of about 1/6; beating it means remembering across up to T steps."""
    if length < 2:
        raise NNJError(f"the adding problem needs a length of at least 2, got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    markers = np.zeros((n, length), dtype=np.float32)
    markers[np.arange(n), first] = 1
    markers[np.arange(n), second] = 1
    x = np.stack([values, markers], axis=2)
    y = values[np.arange(n), first] + values[np.arange(n), second]
    return Split(torch.from_numpy(x), torch.from_numpy(y.astype(np.float32)))


def copy_task(n: int, delay: int, seed: int, n_symbols: int = 8, memory: int = 5) -> Split:
    """x (n, memory + delay + memory) ids: `memory` random symbols (0..n_symbols-1), blanks
    (id n_symbols), a go marker (id n_symbols + 1) `memory` steps before the end, blanks;
    y: IGNORE everywhere except the last `memory` steps, which must repeat the symbols. The
    vocabulary has n_symbols + 2 ids; chance accuracy is 1 / n_symbols."""
    rng = np.random.default_rng(seed)
    T = 2 * memory + delay
    blank, go = n_symbols, n_symbols + 1
    symbols = rng.integers(0, n_symbols, (n, memory))
    x = np.full((n, T), blank, dtype=np.int64)
    x[:, :memory] = symbols
    x[:, T - memory - 1] = go
    y = np.full((n, T), IGNORE, dtype=np.int64)
    y[:, T - memory :] = symbols
    return Split(torch.from_numpy(x), torch.from_numpy(y))


# ---------------------------------------------------------------------------- images as sequences
def images_as_sequences(x: torch.Tensor) -> torch.Tensor:
    """Grey images (n, 1, H, W) or (n, H, W), uint8 pixels or floats -> (n, H, W) floats:
    row r is time step r, its W pixels the step's features (MNIST: 28 steps of 28)."""
    if x.dim() == 4:
        if x.shape[1] != 1:
            raise NNJError(f"rows as time steps needs grey images (1 channel), got {x.shape[1]} channels")
        x = x[:, 0]
    if x.dim() != 3:
        raise NNJError(f"expected images (n, 1, H, W) or (n, H, W), got shape {tuple(x.shape)}")
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def signals_as_sequences(x: torch.Tensor) -> torch.Tensor:
    """1-D signals (n, T) (MNIST-1D: T = 40) -> (n, T, 1): one value per time step."""
    if x.dim() != 2:
        raise NNJError(f"expected signals (n, T), got shape {tuple(x.shape)}")
    return x.float().unsqueeze(-1)


def shuffle_time(x: torch.Tensor, seed: int) -> torch.Tensor:
    """The same random permutation of time steps for every sequence: the control that shows
    how much a model relies on order (MNIST-1D: GRU 91% in order, 57% shuffled)."""
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(seed))
    return x[:, perm]
