"""`nnj export` (issue 17): every model family exported to ONNX and TorchScript, the written file
loaded back independently of the exporter (onnxruntime / torch.jit.load) and matched against
the saved PyTorch model to 1e-5 at a batch size it was not traced at; structured outputs under
their names in the sidecar; bad input is one line, exit 2 and no file.

Runs are the recipes' quick settings (one or two epochs, no plots), trained once per module."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import require_data
from helpers import nnj as cli

import nnjournal as nnj
from nnjournal import recipes
from nnjournal.errors import NNJError
from nnjournal.export import export_model
from nnjournal.saved_model import load_model

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="onnx, onnxruntime and onnxscript (the export extra) are not installed")
FORMATS = [pytest.param("onnx", marks=needs_onnx), "torchscript"]

# The test reads TorchScript files back itself; the deprecation is PyTorch's, not ours to act on.
pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning"),
    pytest.mark.usefixtures("one_thread"),
]
QUIET = ["journal.plots=false"]
RUNS: dict[str, tuple[str, list[str], str | None]] = {  # family -> recipe, overrides, shared data needed
    "mlp-digits": ("digits-mlp", ["training.epochs=1"], None),
    "mlp-csv": ("bank-churn", ["training.epochs=1", 'evaluation.baselines=["dummy"]'], "churn/bank-customer-churn.csv"),
    "cnn": ("digits-cnn", ["training.epochs=1"], None),
    "gru": ("mnist1d-gru", ["training.epochs=1", "model.hidden=16"], None),
    "lstm-forecaster": ("airline-lstm", ["training.epochs=2"], "timeseries/airline-passengers.csv"),
    "char-lm": ("shakespeare-char", ["data.max_chars=20000", "data.streams=8", "training.batch_size=8", "data.bptt=32",
                                     "data.eval_streams=4", "model.hidden=32", "training.epochs=1",
                                     "task.sample_length=10"], "text/tinyshakespeare.txt"),
    "dense-ae": ("ae-vs-pca", ["data.name=digits", "training.epochs=1"], None),
    "conv-ae": ("denoising-ae", ["data.name=digits", "data.as_images=true", "model.kind=conv", "training.epochs=1"],
                None),
    "vae": ("vae", ["data.name=digits", "training.epochs=1"], None),
    "ensemble": ("digits-mlp", ["training.epochs=1", "ensemble.size=2"], None),
    "seq2seq": ("seq2seq-dates", ["data.n_train=200", "data.n_val=50", "data.n_test=50", "training.epochs=1"], None),
}
# family -> (input names, output names): what the sidecar promises a user
NAMES = {
    "mlp-digits": (["x"], ["logits"]),
    "mlp-csv": (["x"], ["logits"]),
    "cnn": (["pixels"], ["logits"]),
    "gru": (["x"], ["logits"]),
    "lstm-forecaster": (["x"], ["output"]),
    "char-lm": (["tokens", "h0", "c0"], ["logits", "h", "c"]),
    "dense-ae": (["x"], ["recon", "code"]),
    "conv-ae": (["x"], ["recon", "code"]),
    "vae": (["x"], ["recon", "code", "logvar", "kl"]),
}
FAMILIES = list(NAMES)


@pytest.fixture(scope="module")
def run_of(tmp_path_factory):
    """family -> a finished run directory, trained on first use."""
    done: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in done:
            recipe, overrides, data = RUNS[family]
            if data:
                require_data(data)
            raw = recipes.load_raw(recipe)
            if family == "conv-ae":
                raw["variants"] = {"gaussian": raw["variants"]["gaussian"]}  # one model is enough
            cfg = recipes.validate_config(recipes.apply_overrides(raw, [*overrides, *QUIET]))
            done[family] = nnj.run(cfg, out=tmp_path_factory.mktemp(family)).run_dir
        return done[family]

    return get


def random_inputs(specs: list[dict], batch: int, time: int, seed: int) -> list[np.ndarray]:
    """Inputs drawn from the sidecar's own description (names, shapes, dtypes, id ranges)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for s in specs:
        shape = [batch if d == "batch" else time if d == "time" else d for d in s["shape"]]
        if s["dtype"] == "uint8":
            arrays.append(rng.integers(0, 256, shape, dtype=np.uint8))
        elif s["dtype"] == "int64":
            arrays.append(rng.integers(0, s["values"][1] + 1, shape, dtype=np.int64))
        else:
            arrays.append(rng.standard_normal(shape).astype(np.float32))
    return arrays


def pytorch_outputs(folder: Path, inputs: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
    """The saved PyTorch model on the same inputs, its outputs picked by the sidecar's names."""
    model = load_model(folder).model
    tensors = [torch.from_numpy(a) for a in inputs]
    with torch.no_grad():
        if len(tensors) > 1:  # the character model: (tokens, h0[, c0]) -> (logits, state)
            logits, state = model(tensors[0], tuple(tensors[1:]) if len(tensors) == 3 else tensors[1])
            out = [logits, *(state if isinstance(state, tuple) else [state])]
            return [t.numpy() for t in out]
        out = model(tensors[0])
    return [out.numpy()] if isinstance(out, torch.Tensor) else [getattr(out, n).numpy() for n in names]


def run_file(path: Path, fmt: str, names: list[str], inputs: list[np.ndarray]) -> list[np.ndarray]:
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, dict(zip(names, inputs, strict=True)))
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        return [t.numpy() for t in loaded(*[torch.from_numpy(a) for a in inputs])]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("family", FAMILIES)
def test_export_matches_the_saved_model_to_1e5_at_another_batch_size(family, fmt, run_of, tmp_path):
    run_dir = run_of(family)
    done = export_model(run_dir, fmt, out=tmp_path / f"m{'.onnx' if fmt == 'onnx' else '.pt'}")
    meta = json.loads(done.sidecar.read_text())
    assert done.sidecar == done.path.with_name(done.path.name + ".json") and meta == json.loads(json.dumps(done.meta))
    ins, outs = NAMES[family]
    assert [s["name"] for s in meta["inputs"]] == ins and [s["name"] for s in meta["outputs"]] == outs
    assert all(s["shape"][0] == "batch" or s["name"] in ("h0", "c0") for s in meta["inputs"])
    assert meta["parity"]["max_abs_error"] <= 1e-5 and done.max_error == meta["parity"]["max_abs_error"]
    # Independently of the export code: the file from disk, inputs from the sidecar, batch 6
    # (traced at 3), the model from the run directory.
    inputs = random_inputs(meta["inputs"], batch=6, time=9, seed=3)
    got = run_file(done.path, fmt, ins, inputs)
    expected = pytorch_outputs(Path(meta["source"]), inputs, outs)
    for name, g, e in zip(outs, got, expected, strict=True):
        assert g.shape == e.shape, name
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=name)


def test_sidecar_says_what_the_graph_does_not_do(run_of, tmp_path):
    """Digits MLP: the saved preprocessing (x / 16) and the class names are all a user needs to
    get `TrainedModel.predict`'s answers from the exported file on real digits."""
    from sklearn.datasets import load_digits

    run_dir = run_of("mlp-digits")
    done = export_model(run_dir, "torchscript")
    assert done.path == run_dir / "model.pt"  # default: beside the weights
    meta = done.meta
    assert meta["task"]["name"] == "classification" and meta["class_names"] == [str(i) for i in range(10)]
    shift, scale = np.asarray(meta["preprocessing"]["shift"]), np.asarray(meta["preprocessing"]["scale"])
    raw = load_digits().data[:200]
    (logits,) = run_file(done.path, "torchscript", ["x"], [((raw - shift) / scale).astype(np.float32)])
    predicted = np.asarray(meta["class_names"], dtype=int)[logits.argmax(1)]
    assert (predicted == load_model(run_dir).predict(raw)).all()


@needs_onnx
def test_char_lm_generates_in_onnxruntime_what_nnj_generate_writes(run_of):
    """The exported character model carries its state as inputs/outputs, so greedy generation one
    character at a time in onnxruntime gives the text `nnj generate --temperature 0` gives."""
    import onnxruntime as ort

    run_dir = run_of("char-lm")
    done = export_model(run_dir, "onnx")
    meta = done.meta
    chars = meta["vocab"]["chars"]
    session = ort.InferenceSession(str(done.path), providers=["CPUExecutionProvider"])
    layers, _, hidden = meta["inputs"][1]["shape"]
    state = [np.zeros((layers, 1, hidden), np.float32)] * 2
    prompt = "the "
    tokens = np.asarray([[chars.index(c) for c in prompt]], dtype=np.int64)
    text = prompt
    for _ in range(20):
        logits, *state = session.run(None, {"tokens": tokens, "h0": state[0], "c0": state[1]})
        nxt = int(logits[0, -1].argmax())
        text += chars[nxt]
        tokens = np.asarray([[nxt]], dtype=np.int64)
    assert text == load_model(run_dir).generate(prompt, 20, temperature=0)


def test_an_export_that_does_not_match_is_refused(run_of):
    """The parity check compares against the model it was given: the linear autoencoder's file
    checked against the non-linear one's weights is refused, naming the output and the gap."""
    from nnjournal.export import check_parity
    from nnjournal.export.formats import export_bytes, runner
    from nnjournal.export.signature import output_specs, signature

    variants = run_of("dense-ae") / "variants"
    linear, nonlinear = (signature(load_model(variants / v)) for v in ("linear", "nonlinear"))
    example = linear.sample(3, 0, torch.Generator().manual_seed(0))
    data, _ = export_bytes("torchscript", linear, output_specs(linear), example)
    assert check_parity(linear, runner("torchscript", data, linear), "torchscript")[0] <= 1e-5
    with pytest.raises(NNJError, match=r"output 'recon' differs from PyTorch by up to .* on a batch of 7"):
        check_parity(nonlinear, runner("torchscript", data, linear), "torchscript")


def one_line_error(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_input_is_one_line_exit_2_and_leaves_no_file(run_of, tmp_path):
    run_dir = run_of("mlp-digits")
    before = set(run_dir.iterdir())
    assert "--format must be one of onnx, torchscript" in one_line_error(cli("export", str(run_dir), "--format", "tflite"))
    assert "not a run directory" in one_line_error(cli("export", str(tmp_path), "--format", "torchscript"))
    # RUN/model would put the sidecar at RUN/model.json, over the run's own model file
    assert "should end in .pt" in one_line_error(cli("export", str(run_dir), "--format", "torchscript", "--out",
                                                     str(run_dir / "model")))
    assert "unknown --variant 'best'" in one_line_error(
        cli("export", str(run_of("vae")), "--format", "torchscript", "--variant", "best"))
    ensemble = run_of("ensemble")
    line = one_line_error(cli("export", str(ensemble), "--format", "torchscript"))
    assert "cannot export" in line and "ensemble of 2 models" in line and "ensemble.size = 1" in line
    line = one_line_error(cli("export", str(run_of("seq2seq")), "--format", "torchscript"))
    assert "cannot export" in line and "decoding is a loop over generated tokens" in line
    assert set(run_dir.iterdir()) == before and not list(ensemble.glob("model.pt*")) and not list(tmp_path.iterdir())
    assert not list(run_of("seq2seq").rglob("model.pt*"))


@needs_onnx
def test_nnj_export_in_a_fresh_process(run_of):
    run_dir = run_of("gru")  # a multi-model run: the best variant is exported beside its weights
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(nnj.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "nnjournal", "export", str(run_dir), "--format", "onnx"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no exporter chatter: the two lines on stdout are the whole answer
    best = json.loads((run_dir / "summary.json").read_text())["headline"]["variant"]
    path = run_dir / "variants" / best / "model.onnx"
    assert f"written to {path}" in proc.stdout and "parity with PyTorch: max |difference|" in proc.stdout
    assert json.loads(path.with_name("model.onnx.json").read_text())["outputs"][0]["name"] == "logits"
