"""Bad inputs to the recurrent recipes (shakespeare-char, airline-lstm[-h24], mnist1d-gru,
mnist-rnn, seq2seq-dates, rnn-gradients-study) and to `nnj generate` / `predict` / `model
summary` on their runs, through the real `nnj` command line, each in a forked child
(tests/cli_fork_server.py, as in test_bad_inputs.py).

Each case here once failed: a traceback (a series CSV in Latin-1, a folder, a model or task of
another kind, a NaN temperature, a seed beyond 2**63), a run directory left behind by input
the preflight could have refused (a NaN in the series, forget_bias = nan, a negative sample
temperature), a run that trained on nonsense without a word (unsorted dates, a header-less
series, a one-character text), a hang (`--length 10**12`), or a message naming a setting that
does not exist (training.bptt). Now: exit code 2, one `error:` line naming the setting or the
line of the file and how to fix it, and no run directory. The probes that behaved well are in
docs/benchmarks.md ("Bad inputs and interruptions of the recurrent recipes"). The texts and series are built here from the shared ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_bad_inputs import Case, Nnj, check_refused

from nnjournal.saved_model import load_model
from tests.conftest import require_data

LM = ["data.streams=8", "training.batch_size=8", "data.bptt=32", "data.eval_streams=4", "model.hidden=16",
      "model.embedding_dim=8", "task.sample_length=10"]  # fmt: skip
FC = ["model.hidden=8"]
M1 = ["model.hidden=8", "data.num_samples=300"]
DATES = ["model.hidden=8", "data.n_train=100", "data.n_val=20", "data.n_test=20"]


def _series(path: Path, rows: list[str], header: str = "Date,Count") -> None:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("files")
    plays = require_data("text/tinyshakespeare.txt").read_text(encoding="utf-8")[:20_000]
    (d / "plays.txt").write_text(plays, encoding="utf-8")
    (d / "empty.txt").write_text("")
    (d / "aaa.txt").write_text("a" * 20_000)
    (d / "short_val.txt").write_text(plays[:6000])
    (d / "utf16.txt").write_bytes(plays.encode("utf-16"))
    # Windows: a byte-order mark and CRLF line ends; neither is a character of the text
    (d / "windows.txt").write_bytes(("\ufeff" + plays).replace("\n", "\r\n").encode("utf-8"))
    lines = require_data("timeseries/airline-passengers.csv").read_text().splitlines()[1:]
    rows = [line.replace('"', "") for line in lines]  # 1949-01,112

    def with_value(i: int, value: str) -> list[str]:
        return [f"{r.split(',')[0]},{value}" if j == i else r for j, r in enumerate(rows)]

    _series(d / "nan.csv", with_value(50, "NaN"))
    _series(d / "blank.csv", with_value(50, ""))
    _series(d / "inf.csv", with_value(50, "inf"))
    _series(d / "huge.csv", with_value(50, "1e200"))
    _series(d / "negative.csv", with_value(50, "-3"))
    _series(d / "unsorted.csv", rows[::-1])
    _series(d / "duplicated.csv", rows[:60] + rows[59:])
    _series(d / "headerless.csv", rows[1:], header=rows[0])
    _series(d / "values_only.csv", [r.split(",")[1] for r in rows], header="Count")
    (d / "folder.csv").mkdir()
    # Latin-1, semicolons, decimal commas (112,0), a third column, a zero (Holt-Winters'
    # multiplicative season cannot fit it; SARIMA can) and three months left out (1953-03 to 1953-05): what a spreadsheet
    # export looks like
    body = [f"{r.split(',')[0]};{'0' if i == 30 else r.split(',')[1] + ',0'};{i % 7}" for i, r in enumerate(rows)]
    del body[50:53]
    (d / "export.csv").write_bytes("\n".join(["Mois;Count;Këy", *body]).encode("latin-1"))
    return d


# One epoch, no plots; not test_bad_inputs.TRAIN: its evaluation.baselines = ['dummy'] is refused
# for tasks with baselines of their own (a language model, a forecaster).
SHORT = ["training.epochs=1", "journal.plots=false"]


def recipe_run(id: str, recipe: str, expect: str, *sets: str) -> Case:
    """`nnj run RECIPE -q --out {out} --set S ...`, one epoch (a later --set wins)."""
    return Case(
        id,
        ["run", recipe, "-q", "--out", "{out}", *(a for s in (*SHORT, *sets) for a in ("--set", s))],
        expect,
    )


def lm_run(id: str, expect: str, *sets: str) -> Case:
    return recipe_run(id, "shakespeare-char", expect, "data.path={f}/plays.txt", *LM, *sets)


def fc_run(id: str, file: str | None, expect: str, *sets: str) -> Case:
    path = [f"data.path={{f}}/{file}"] if file else []
    return recipe_run(id, "airline-lstm", expect, *path, *FC, *sets)


CASES = [
    # texts
    lm_run("empty text", "the text is empty", "data.path={f}/empty.txt"),
    lm_run(
        "one character repeated (trained to a loss of 0)",
        "only one distinct character",
        "data.path={f}/aaa.txt",
    ),
    lm_run(
        "validation part too short names eval_streams (said training.bptt)",
        "lower data.eval_streams or data.bptt, raise data.val_fraction",
        "data.path={f}/short_val.txt",
        "data.eval_streams=64",
    ),  # fmt: skip
    lm_run("bptt beyond the text names data.bptt", "or data.bptt", "data.bptt=100000"),
    lm_run("utf-16 text", "it is UTF-16 text", "data.path={f}/utf16.txt"),
    # series CSVs
    fc_run(
        "NaN in the series (diverged after the run dir)",
        "nan.csv",
        "line 52, column 'Count': the value is missing",
    ),
    fc_run("blank cell", "blank.csv", "fill the gap"),
    fc_run("inf in the series", "inf.csv", "is not finite"),
    fc_run("1e200 in the series (overflowed the RMSE)", "huge.csv", "too large to forecast"),
    fc_run(
        "a negative value under data.log (said what, not where or how to fix)",
        "negative.csv",
        "the first -3 at step 51: set data.log = false",
    ),
    fc_run(
        "unsorted dates (trained on the reversed series)", "unsorted.csv", "sort the file by its date column"
    ),
    fc_run("a date twice", "duplicated.csv", "appears twice, on lines 61 and 62"),
    fc_run("no header row (first value lost)", "headerless.csv", "no header row"),
    fc_run(
        "values only (said: value '' is not a number)",
        "values_only.csv",
        "needs a date column and a value column",
    ),
    fc_run("a folder (traceback)", "folder.csv", "is a folder"),
    fc_run(
        "seasonal lag beyond the training part (numpy warnings)",
        None,
        "lower data.seasonal_lag",
        "data.seasonal_lag=200",
    ),
    fc_run("horizon beyond the training part names data.horizon", None, "data.horizon", "data.horizon=200"),
    # settings
    lm_run("forget_bias nan (diverged after the run dir)", "finite number", "model.forget_bias=nan"),
    lm_run(
        "forget_bias text: one sentence",
        "model.forget_bias: a finite number (e.g. 1.0) or 'chrono'",
        "model.forget_bias=abc",
    ),  # fmt: skip
    lm_run(
        "negative sample temperature (failed after training)",
        "task.sample_temperatures[0]",
        "task.sample_temperatures=[-1]",
    ),  # fmt: skip
    # seeds beyond numpy's and torch's range (a traceback after the run dir was made)
    Case("--seed 2**70", ["run", "airline-lstm", "-q", "--out", "{out}", "--seed", str(2**70)], "--seed"),
    Case("--seed -1", ["run", "airline-lstm", "-q", "--out", "{out}", "--seed", "-1"], "--seed"),
    fc_run("seed = -1 in the recipe", None, "seed: Input should be greater than or equal to 0", "seed=-1"),
    # a task, model and data that do not belong together (tracebacks, most after the run dir)
    lm_run("forecasting a text", "task.name = 'forecasting' needs a time series", "task.name=forecasting"),
    lm_run("language model with an rnn classifier", "model.name = 'rnn' does not fit", "model.name=rnn"),
    lm_run(
        "language model with a forecaster", "model.name = 'forecaster' does not fit", "model.name=forecaster"
    ),
    fc_run(
        "classes of a series", None, "needs one class label per sequence", "task.name=sequence-classification"
    ),
    fc_run("seq2seq on a series", None, "needs pairs of token sequences", "task.name=seq2seq"),
    fc_run(
        "forecaster replaced by a char-lm", None, "model.name = 'char-lm' does not fit", "model.name=char-lm"
    ),
    fc_run(
        "sequence regression of a window (broadcast silently)",
        None,
        "one number per sequence",
        "task.name=sequence-regression",
    ),  # fmt: skip
    recipe_run(
        "tagging MNIST-1D (failed after training)",
        "mnist1d-gru",
        "one class label per step",
        *M1,
        "task.name=sequence-tagging",
    ),  # fmt: skip
    recipe_run(
        "classifying dates",
        "seq2seq-dates",
        "needs one label per example",
        *DATES,
        "task.name=classification",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: Case, nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    check_refused(case, nnj, files, tmp_path)


def _one_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def _trained(nnj: Nnj, case: Case, files: Path, out: Path) -> Path:
    rc, _, stderr = nnj(*[a.format(f=files, out=out) for a in case.args], cwd=out.parent)
    assert rc == 0, stderr[-3000:]
    return _one_run(out)


@pytest.fixture(scope="module")
def lm(nnj: Nnj, files: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A language model trained on the Windows text."""
    return _trained(
        nnj, lm_run("", "", "data.path={f}/windows.txt"), files, tmp_path_factory.mktemp("lm") / "out"
    )


def test_a_windows_text_has_no_bom_or_carriage_return_in_its_vocabulary(lm: Path) -> None:
    chars = json.loads((lm / "vocab.json").read_text(encoding="utf-8"))["chars"]
    assert "\ufeff" not in chars and "\r" not in chars and "\n" in chars


GENERATE = [
    (["--length", str(10**12)], "--length must be at least 1 and at most 100,000"),  # ran forever
    (["--temperature", "nan"], "and finite"),  # traceback
    (["--temperature", "inf"], "and finite"),  # sampled uniformly without a word
    (["--seed", str(2**70)], "--seed must be between"),  # traceback
]


@pytest.mark.parametrize(("extra", "expect"), GENERATE, ids=[" ".join(a) for a, _ in GENERATE])
def test_generate_refuses_in_one_line(extra: list[str], expect: str, nnj: Nnj, lm: Path) -> None:
    rc, _, stderr = nnj("generate", str(lm), "--length", "5", *extra)
    assert rc == 2 and len(stderr.splitlines()) == 1 and expect in stderr, stderr[-2000:]


def test_a_tiny_temperature_is_greedy(nnj: Nnj, lm: Path) -> None:
    """1e-300 is 0 in float32: the tempered logits were nan and multinomial raised."""
    texts = []
    for t in ("1e-300", "0"):
        rc, stdout, stderr = nnj("generate", str(lm), "--prompt", "The", "--length", "40", "--temperature", t)
        assert rc == 0, stderr[-2000:]
        texts.append(stdout)
    assert texts[0] == texts[1] and len(texts[0]) >= 43


VOCABS = {
    "missing": (None, "vocab.json is missing"),  # said: "generate needs a character language model"
    "duplicates": ('{"kind": "chars", "chars": ["a", "a"]}', "vocab.json is damaged"),  # traceback
    "empty": ("", "vocab.json is damaged"),  # traceback
    "too few": ('{"kind": "chars", "chars": ["a", "b"]}', "2 entries for a model of"),  # garbled text
}


@pytest.mark.parametrize("damage", list(VOCABS))
def test_a_damaged_vocabulary_is_named(damage: str, nnj: Nnj, lm: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(lm, run)
    text, expect = VOCABS[damage]
    if text is None:
        (run / "vocab.json").unlink()
    else:
        (run / "vocab.json").write_text(text)
    rc, _, stderr = nnj("generate", str(run), "--length", "5")
    assert rc == 2 and len(stderr.splitlines()) == 1 and expect in stderr, stderr[-2000:]


def test_predict_on_a_language_model_names_nnj_generate(
    nnj: Nnj, lm: Path, files: Path, tmp_path: Path
) -> None:
    rc, _, stderr = nnj("predict", str(lm), str(files / "plays.txt"), "--out", str(tmp_path / "p.csv"))
    assert rc == 2 and len(stderr.splitlines()) == 1 and "nnj generate RUN --prompt" in stderr, stderr
    assert not (tmp_path / "p.csv").exists()


def test_a_spreadsheet_export_of_a_series_trains_and_says_what_it_read(
    nnj: Nnj, files: Path, tmp_path: Path
) -> None:
    """Latin-1, semicolons, a third column, a zero: a traceback before. Now it trains; the
    report names the value column and the unused one, and Holt-Winters (which cannot fit a
    zero under a multiplicative season) is left out with a note while SARIMA is still fitted
    (one failure used to skip both). Three months missing were read as evenly spaced without
    a word (every season after them shifted); the report and `nnj predict` now say where."""
    run = _trained(
        nnj, fc_run("", "export.csv", "", "data.log=false", "training.epochs=2"), files, tmp_path / "out"
    )
    summary = json.loads((run / "summary.json").read_text())
    notes = " ".join(summary["data"]["notes"])
    assert "Values from column 'Count', dates from 'Mois'; the other column(s) 'Këy' are not used" in notes
    assert "The values are written with a decimal comma and were read as numbers." in notes
    assert "The Holt-Winters baseline could not be fitted" in notes
    assert "SARIMA" in summary["baselines"] and "Holt-Winters" not in summary["baselines"]
    gap = "The dates skip 3 step(s) of one month ('1953-02' to '1953-06', lines 51-52)"
    assert gap in notes
    # the saved forecaster reads a series the same way, and refuses one with its dates reversed
    rc, stdout, stderr = nnj("predict", str(run), str(files / "export.csv"), "--out", "-")
    assert rc == 0 and stdout.splitlines()[0] == "last_date,steps_after,prediction", stderr
    assert f"note: {gap}" in stderr
    rc, _, stderr = nnj("predict", str(run), str(files / "unsorted.csv"), "--out", str(tmp_path / "p.csv"))
    assert rc == 2 and "sort the file by its date column" in stderr and not (tmp_path / "p.csv").exists()


def test_predict_gives_a_sequence_classifiers_classes(nnj: Nnj, files: Path, tmp_path: Path) -> None:
    """It said "nnj predict needs a classification or regression model"."""
    run = _trained(nnj, recipe_run("", "mnist1d-gru", "", *M1, "model.hidden=4"), files, tmp_path / "out")
    folder = run / "variants" / "gru"
    x = np.random.default_rng(0).normal(size=(6, 40)).astype(np.float32)
    np.save(tmp_path / "signals.npy", x)
    rc, _, stderr = nnj("predict", str(run), str(tmp_path / "signals.npy"), "--variant", "gru",
                        "--out", str(tmp_path / "p.csv"))  # fmt: skip
    assert rc == 0, stderr[-2000:]
    rows = [line.split(",") for line in (tmp_path / "p.csv").read_text().splitlines()]
    assert rows[0][:2] == ["prediction", "proba_0"] and len(rows) == 7
    trained = load_model(folder)
    with torch.no_grad():
        logits = trained.model(torch.from_numpy(trained.preprocessing.transform(x)))
    assert [int(r[0]) for r in rows[1:]] == logits.argmax(1).tolist()
    assert np.allclose([sum(map(float, r[1:])) for r in rows[1:]], 1, atol=1e-5)


SUMMARIES = [
    ("shakespeare-char", ["data.path={f}/plays.txt", *LM], "LSTM"),  # token ids into an embedding
    ("mnist1d-gru", M1, "GRU"),  # an RNN layer's output is a tuple
    ("seq2seq-dates", DATES, "GRUCell"),  # lengths and a target sequence; a decoder loop
    ("rnn-gradients-study", [], "LSTM"),
]


@pytest.mark.parametrize(("recipe", "sets", "layer"), SUMMARIES, ids=[s[0] for s in SUMMARIES])
def test_model_summary_of_recurrent_recipes(
    recipe: str, sets: list[str], layer: str, nnj: Nnj, files: Path
) -> None:
    args = [a for s in sets for a in ("--set", s.format(f=files))]
    rc, stdout, stderr = nnj("model", "summary", recipe, *args)
    assert rc == 0, stderr[-3000:]
    assert f" {layer} " in stdout and "total trainable parameters" in stdout
    for section in stdout.split("== "):  # one per variant
        names = [line.split()[0] for line in section.splitlines() if line.startswith(("decoder", "encoder"))]
        assert len(names) == len(set(names)), section  # one row per layer, however many steps it ran
