"""Character text, TBPTT streams, the language-model task, generation and n-gram baselines,
on a real slice of tinyshakespeare."""

from __future__ import annotations

import math
import time

import pytest
import torch

from nnjournal.data.text import CharVocab, char_text, read_text, stream_split
from nnjournal.errors import NNJError
from nnjournal.evaluation.sequence_baselines import bigram_loss, unigram_loss
from nnjournal.models.rnn import CharLM
from nnjournal.tasks.base import direction
from tests.conftest import require_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def shakespeare() -> str:
    return read_text(require_data("text/tinyshakespeare.txt"), max_chars=20_000)


# ---------------------------------------------------------------------------- vocabulary
def test_vocab_round_trips_through_json(tmp_path, shakespeare: str) -> None:
    vocab = CharVocab.from_text(shakespeare)
    vocab.save(tmp_path / "vocab.json")
    again = CharVocab.load(tmp_path / "vocab.json")
    assert again.chars == vocab.chars
    ids = again.encode("ROMEO:\nO, she")
    assert again.decode(ids) == "ROMEO:\nO, she"


def test_unknown_characters_are_refused_by_name(shakespeare: str) -> None:
    vocab = CharVocab.from_text(shakespeare)
    with pytest.raises(NNJError, match=r"2 character\(s\).*'@'.*'é'") as e:
        vocab.encode("café @ noon")
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------------------- streams
def test_stream_batches_continue_each_stream() -> None:
    ids = torch.arange(1000)  # token i has value i: continuity is arithmetic
    split = stream_split(ids, n_streams=4, bptt=10)
    batches = [split.take(i) for i in split.batch_indices(4, torch.Generator(), "cpu")]
    assert len(batches) == split.n_windows == 24  # (1000 - 1) // 4 = 249 per stream -> 24 windows
    for prev, nxt in zip(batches, batches[1:], strict=False):
        assert torch.equal(nxt.x[:, 0], prev.x[:, -1] + 1)  # row b picks up where row b stopped
    assert torch.equal(batches[0].y, batches[0].x + 1)  # targets: the next character
    starts = batches[0].x[:, 0]
    assert torch.equal(starts, torch.tensor([0, 249, 498, 747]))  # four contiguous streams


def test_stream_order_ignores_the_shuffle_seed_and_checks_batch_size() -> None:
    split = stream_split(torch.arange(500), n_streams=5, bptt=7)
    a = [i.tolist() for i in split.batch_indices(5, torch.Generator().manual_seed(1), "cpu")]
    b = [i.tolist() for i in split.batch_indices(5, torch.Generator().manual_seed(2), "cpu")]
    assert a == b
    with pytest.raises(NNJError, match="batch_size is 8 but the text is cut into 5 streams"):
        next(split.batch_indices(8, torch.Generator(), "cpu"))


def test_splits_are_contiguous_chunks_in_order(shakespeare: str) -> None:
    data = char_text(shakespeare, n_streams=8, bptt=50, val_fraction=0.1, test_fraction=0.1)
    text = data.vocab.decode(torch.cat([data.train_ids, data.val_ids, data.test_ids]))
    assert text == shakespeare
    assert len(data.train_ids) == 16_000
    assert data.vocab.decode(data.test_ids) == shakespeare[18_000:]


# ---------------------------------------------------------------------------- the task
def test_training_steps_beat_the_unigram_baseline(shakespeare: str) -> None:
    """A hand loop over task.training_step (state carried between batches) on 18k real
    characters gets below the unigram model's validation loss within seconds."""
    from nnjournal.tasks.language_model import LanguageModel

    torch.manual_seed(0)
    data = char_text(shakespeare, n_streams=16, bptt=32, val_fraction=0.1, test_fraction=0.05, eval_streams=4)
    V = len(data.vocab)
    model = CharLM(V, embedding_dim=32, hidden_size=128)
    task = LanguageModel(V)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    unigram = unigram_loss(data.train_ids, data.val_ids, V)
    bigram = bigram_loss(data.train_ids, data.val_ids, V)
    before = task.evaluate(model, data.val)["loss"]
    start, cpu, state = time.perf_counter(), time.process_time(), None
    for _epoch in range(3):
        state = None  # reset per epoch
        for idx in data.train.batch_indices(16, torch.Generator(), "cpu"):
            out = task.training_step(model, data.train.take(idx), state)
            assert out.state[0].grad_fn is None  # handed back detached
            assert out.count == 16 * 32
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state = out.state
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = task.evaluate(model, data.val)
    print(f"val loss {before:.3f} -> {after['loss']:.3f} nats/char in {elapsed:.1f}s ({cpu:.1f}s CPU); "
          f"unigram {unigram:.3f}, bigram {bigram:.3f}")
    assert before > math.log(V) - 0.2  # an untrained model is near uniform
    assert after["loss"] < unigram - 0.2
    assert after["bits_per_char"] == pytest.approx(after["loss"] / math.log(2))
    assert after["perplexity"] == pytest.approx(math.exp(after["loss"]))
    assert all(direction(task, k) for k in after)  # the report can rank every metric
    assert cpu < 20  # CPU time: wall time on a shared machine measures the neighbours


def test_carried_state_is_the_same_as_one_long_forward() -> None:
    """TBPTT's forward is exact: window by window with the state carried gives the losses of
    running each stream in one piece (only the gradient is truncated)."""
    from nnjournal.tasks.language_model import LanguageModel

    torch.manual_seed(0)
    ids = torch.randint(0, 11, (801,))
    split = stream_split(ids, n_streams=4, bptt=20)
    model = CharLM(11, embedding_dim=8, hidden_size=16).eval()
    task = LanguageModel(11)
    carried = task.evaluate(model, split)["loss"]
    whole = stream_split(ids, n_streams=4, bptt=200)  # one window per stream
    assert task.evaluate(model, whole)["loss"] == pytest.approx(carried, abs=1e-5)
    per_window = 0.0
    for idx in split.batch_indices(4, torch.Generator(), "cpu"):
        per_window += float(task.evaluation_step(model, split.take(idx), None).sums["loss"])
    assert per_window / split.n_tokens > carried + 1e-4  # without the state, context is lost


def test_directions_cover_every_metric() -> None:
    from nnjournal.tasks.language_model import LanguageModel

    task = LanguageModel(5)
    assert direction(task, "val_bits_per_char") == "min"
    assert direction(task, "train_accuracy") == "max"
    assert direction(task, "perplexity") == "min"


# ---------------------------------------------------------------------------- generation
def test_generation_is_seeded_greedy_at_zero_and_respects_top_k() -> None:
    torch.manual_seed(0)
    model = CharLM(12, embedding_dim=8, hidden_size=16)
    prompt = torch.tensor([1, 2, 3])

    def sample(seed: int, **kw) -> list[int]:
        return model.generate(prompt, 40, generator=torch.Generator().manual_seed(seed), **kw).tolist()

    assert sample(5) == sample(5)
    assert sample(5) != sample(6)
    greedy = sample(0, temperature=0)
    assert greedy == sample(1, temperature=0)
    assert greedy[:3] == [1, 2, 3] and len(greedy) == 43
    # greedy is the argmax chain, checked step by step
    logits, state = model(prompt.view(1, -1))
    for t in range(3, 43):
        assert greedy[t] == int(logits[0, -1].argmax())
        logits, state = model(torch.tensor([[greedy[t]]]), state)
    # top_k=1 samples the argmax whatever the temperature; top_k=3 draws only from the top 3
    assert sample(9, temperature=2.0, top_k=1) == greedy
    ids = sample(3, temperature=5.0, top_k=3)
    logits, state = model(prompt.view(1, -1))
    for t in range(3, 43):
        assert ids[t] in torch.topk(logits[0, -1], 3).indices.tolist()
        logits, state = model(torch.tensor([[ids[t]]]), state)


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"length": 0}, "length must be at least 1"), ({"temperature": -1.0}, "temperature must be >= 0"),
     ({"top_k": 0}, "top_k must be at least 1")],
)
def test_generation_refuses_bad_arguments(kw: dict, message: str) -> None:
    model = CharLM(5, embedding_dim=4, hidden_size=4)
    args = {"length": 5, **kw}
    with pytest.raises(NNJError, match=message):
        model.generate(torch.tensor([0]), **args)


# ---------------------------------------------------------------------------- n-grams
def test_ngram_baselines_on_real_text(shakespeare: str) -> None:
    data = char_text(shakespeare, n_streams=4, bptt=50, val_fraction=0.1, test_fraction=0.1)
    V = len(data.vocab)
    uni = unigram_loss(data.train_ids, data.val_ids, V)
    kn = bigram_loss(data.train_ids, data.val_ids, V, "kneser_ney")
    add1 = bigram_loss(data.train_ids, data.val_ids, V, "add_one")
    print(f"unigram {uni:.3f}, bigram KN {kn:.3f}, add-one {add1:.3f} nats/char")
    assert 2.9 < uni < math.log(V)  # English letters are far from uniform
    assert kn < uni - 0.3  # one character of context helps a lot
    assert kn < add1  # add-one over-smooths 60+ characters x 60+ contexts on 16k characters
    # a bigram model fitted on the evaluation text itself would be lower: fitted on train only
    assert bigram_loss(data.val_ids, data.val_ids, V) < kn


def test_sample_text_is_seeded_and_refuses_unknown_characters(shakespeare: str) -> None:
    from nnjournal.tasks.language_model import sample_text

    vocab = CharVocab.from_text(shakespeare)
    torch.manual_seed(0)
    model = CharLM(len(vocab), embedding_dim=8, hidden_size=16)
    a = sample_text(model, vocab, "ROMEO:", 30, temperature=0.8, seed=4)
    assert a.startswith("ROMEO:") and len(a) == 36
    assert a == sample_text(model, vocab, "ROMEO:", 30, temperature=0.8, seed=4)
    assert a != sample_text(model, vocab, "ROMEO:", 30, temperature=0.8, seed=5)
    with pytest.raises(NNJError, match="the prompt has 1 character"):
        sample_text(model, vocab, "ROMEO~", 5)
