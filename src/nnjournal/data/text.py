"""Text as characters: a vocabulary saved as JSON beside the model, and ordered streams for
truncated back-propagation through time (TBPTT).

A language model trained with TBPTT reads the text in order: the token stream is cut into B
parallel streams (rows), each stream into windows of `bptt` characters, and batch k holds
window k of every stream. The network's final state after batch k is the right initial
state for batch k+1 (row b continues row b), so it is carried over, detached, and the model
sees context far longer than `bptt` while gradients flow back `bptt` steps only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from nnjournal.data.bundle import Split
from nnjournal.errors import NNJError


class CharVocab:
    """Characters <-> ids, in sorted order so that the same text always gives the same ids."""

    def __init__(self, chars: list[str]) -> None:
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("a character vocabulary holds distinct single characters")
        self.chars = list(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, where: str = "the prompt") -> torch.Tensor:
        """(len(text),) int64 ids; characters the model never saw are refused, by name,
        rather than silently dropped or mapped to a stand-in."""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise NNJError(
                f"{where} has {len(unknown)} character(s) the model's vocabulary lacks: {shown} "
                f"(use only characters of the training text; the vocabulary has {len(self)})"
            )
        return torch.tensor([self.index[c] for c in text], dtype=torch.int64)

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def to_dict(self) -> dict[str, object]:
        return {"kind": "chars", "chars": self.chars}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> CharVocab:
        if d.get("kind") != "chars":
            raise NNJError(f"vocabulary kind {d.get('kind')!r} is not 'chars' (is this a character model?)")
        return cls(list(d["chars"]))  # type: ignore[arg-type]

    def save(self, path: Path) -> None:
        # ensure_ascii=False keeps the file readable; the characters are written exactly.
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CharVocab:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as e:
            raise NNJError(f"cannot read the vocabulary {path}: {e} (was the run saved completely?)") from None


@dataclass
class StreamSplit(Split):
    """Windows of B parallel streams: x, y (n_windows * B, bptt), y = x shifted by one
    character. Row k * B + b is window k of stream b, so `batch_indices` yields rows
    [k*B, (k+1)*B) in order of k: each batch continues the previous one, stream by stream."""

    n_streams: int = 1

    @property
    def n_windows(self) -> int:
        return len(self) // self.n_streams

    @property
    def n_tokens(self) -> int:
        return self.y.numel()

    def batch_indices(
        self, batch_size: int, generator: torch.Generator, device: torch.device | str
    ) -> Iterator[torch.Tensor]:
        """The windows in reading order, never shuffled (the generator is not used): a
        shuffled order would hand each batch a state from unrelated text."""
        if batch_size != self.n_streams:
            raise NNJError(
                f"training.batch_size is {batch_size} but the text is cut into {self.n_streams} "
                f"streams: with truncated BPTT a batch is one window of every stream "
                f"(set training.batch_size = data.streams = {self.n_streams})"
            )
        rows = torch.arange(self.n_streams, device=device)
        for k in range(self.n_windows):
            yield rows + k * self.n_streams


    def eval_chunks(self, chunk: int) -> Iterator[torch.Tensor]:
        """The windows in reading order, one of every stream per chunk (whatever `chunk`), so
        a stateful task carries each stream's state into its next window."""
        rows = torch.arange(self.n_streams, device=self.x.device)
        for k in range(self.n_windows):
            yield rows + k * self.n_streams

    def n_batches(self, batch_size: int) -> int:
        return self.n_windows


def stream_split(ids: torch.Tensor, n_streams: int, bptt: int, what: str = "the text") -> StreamSplit:
    """Cut a token stream (N,) into `n_streams` contiguous streams and windows of `bptt`.
    The tail that does not fill a whole window of every stream is dropped (at most
    n_streams * bptt tokens). `what` names the stream in the error (e.g. "the validation part")."""
    per_stream = (len(ids) - 1) // n_streams  # -1: the last input still needs a next character
    n_windows = per_stream // bptt
    if n_windows < 1:
        raise NNJError(
            f"{what} ({len(ids):,} characters) cannot fill one window of {bptt} characters in each of "
            f"{n_streams} streams, which needs {n_streams * bptt + 1:,}: {_remedy(what)}"
        )
    used = n_windows * bptt
    x = torch.stack([ids[b * per_stream : b * per_stream + used] for b in range(n_streams)])  # (B, L)
    y = torch.stack([ids[b * per_stream + 1 : b * per_stream + used + 1] for b in range(n_streams)])
    # (B, K, bptt) -> (K, B, bptt) -> (K * B, bptt): window-major, so a batch is a block of rows.
    def windows(t: torch.Tensor) -> torch.Tensor:
        return t.view(n_streams, n_windows, bptt).transpose(0, 1).reshape(-1, bptt).contiguous()

    return StreamSplit(windows(x), windows(y), n_streams=n_streams)


@dataclass
class CharText:
    """A text's train/val/test streams and its vocabulary."""

    train: StreamSplit
    val: StreamSplit | None
    test: StreamSplit
    vocab: CharVocab
    train_ids: torch.Tensor  # the raw training stream, for the n-gram baselines
    test_ids: torch.Tensor
    val_ids: torch.Tensor | None = None


def char_text(
    text: str,
    *,
    n_streams: int,
    bptt: int,
    val_fraction: float = 0.05,
    test_fraction: float = 0.05,
    eval_streams: int | None = None,
) -> CharText:
    """Train/val/test as contiguous chunks of the text, in that order: a random split of
    windows would put neighbouring text in both and flatter the validation loss. The
    vocabulary is the whole text's alphabet (a label set, not a statistic: nothing about the
    validation text's distribution leaks, and no validation character is left unencodable).
    `eval_streams` (default: `n_streams`) cuts the smaller splits into fewer streams."""
    if not 0 <= val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise NNJError(
            f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} must be "
            f"fractions leaving some training text (e.g. 0.05 and 0.05)"
        )
    vocab = CharVocab.from_text(text)
    if len(vocab) < 2:  # nothing to predict: every next character is known in advance
        what = f"has only one distinct character ({vocab.chars[0]!r})" if len(vocab) else "is empty"
        raise NNJError(f"the text {what}: a language model needs at least 2 characters; give a real text as data.path")
    ids = vocab.encode(text, where="the text")
    n = len(ids)
    n_test, n_val = int(n * test_fraction), int(n * val_fraction)
    n_train = n - n_val - n_test
    train_ids, val_ids, test_ids = ids[:n_train], ids[n_train : n_train + n_val], ids[n_train + n_val :]
    e = eval_streams or n_streams
    return CharText(
        train=stream_split(train_ids, n_streams, bptt, "the training part"),
        val=stream_split(val_ids, e, bptt, "the validation part") if n_val else None,
        test=stream_split(test_ids, e, bptt, "the test part"),
        vocab=vocab,
        train_ids=train_ids,
        test_ids=test_ids,
        val_ids=val_ids if n_val else None,
    )


def _remedy(what: str) -> str:
    """How to make a part of the text long enough for its streams."""
    if what == "the training part":
        return "lower data.streams (= training.batch_size) or data.bptt, or give a longer text"
    fraction = "data.val_fraction" if what == "the validation part" else "data.test_fraction"
    return f"lower data.eval_streams or data.bptt, raise {fraction}, or give a longer text"


def read_text(path: Path, max_chars: int | None = None) -> str:
    """A UTF-8 text file, optionally only its first `max_chars` characters (quick profiles).
    A byte-order mark is not text (Windows editors write one): utf-8-sig drops it, so it never
    becomes a character of the vocabulary."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raw = Path(path).read_bytes()[:2]
        kind, code = ("UTF-16 text", "utf-16") if raw in (b"\xff\xfe", b"\xfe\xff") else ("not UTF-8 text", "latin1")
        raise NNJError(
            f"cannot read text file {path}: it is {kind} (byte {e.start:,}: {e.reason}); save it as UTF-8 "
            f"(e.g. iconv -f {code} -t utf-8 FILE > FILE.utf8) and give that as data.path"
        ) from None
    except OSError as e:
        raise NNJError(f"cannot read text file {path}: {e.strerror} (give a UTF-8 text file as data.path)") from None
    return text[:max_chars] if max_chars else text
