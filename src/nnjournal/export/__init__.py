"""`nnj export`: a saved model as one ONNX or TorchScript file plus a JSON sidecar, written only
after the file has been run and matched the PyTorch model to 1e-5 on fresh random inputs,
including batch sizes (and, for a character model, lengths) other than the one it was traced at.

- `signature.py`: the inputs and named outputs of each model family (structured outputs flattened)
- `formats.py`: ONNX / TorchScript bytes, and running them back (onnxruntime, torch.jit.load)

ONNX needs the `export` extra (onnx, onnxruntime, onnxscript); TorchScript needs only torch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnjournal.errors import NNJError
from nnjournal.export.formats import FORMATS, Runner, check_installed, export_bytes, runner
from nnjournal.export.signature import Signature, output_specs, refusal, signature
from nnjournal.files import atomic_write_bytes, atomic_write_json, check_output_file
from nnjournal.saved_model import load_model

__all__ = ["ATOL", "FORMATS", "RTOL", "Exported", "export_model"]

# Exported and PyTorch outputs must agree as numpy.allclose(exported, torch, rtol, atol) does.
ATOL = RTOL = 1e-5


@dataclass
class Exported:
    path: Path
    sidecar: Path  # PATH + ".json": input and output names, shapes, dtypes; the parity check
    max_error: float  # the largest |exported - PyTorch| over every output and check
    meta: dict[str, Any]  # the sidecar's contents


def export_model(
    run_dir: Path | str, fmt: str, out: Path | str | None = None, variant: str | None = None
) -> Exported:
    """Export the model of a finished run (or a folder holding model.json) as `fmt` ("onnx" or
    "torchscript") to `out` (default: beside the model's weights, model.onnx / model.pt).
    Nothing is written unless the file reproduces the PyTorch outputs to 1e-5."""
    if fmt not in FORMATS:
        raise NNJError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    check_installed(fmt)
    folder = _model_folder(Path(run_dir), variant)
    target = Path(out) if out is not None else folder / f"model{FORMATS[fmt]}"
    if target.suffix != FORMATS[fmt]:
        kind = {"onnx": "an ONNX", "torchscript": "a TorchScript"}[fmt]
        raise NNJError(f"--out {target}: {kind} file should end in {FORMATS[fmt]} (its sidecar is FILE.json)")
    sidecar = target.with_name(target.name + ".json")
    check_output_file(target)
    trained = load_model(folder)
    why = refusal(trained)
    if why is not None:
        raise NNJError(f"cannot export {folder}: {why}")
    sig = signature(trained)
    outputs = output_specs(sig)
    data, details = export_bytes(fmt, sig, outputs, sig.sample(3, sig.example_time, torch.Generator().manual_seed(1)))
    max_error, checked = check_parity(sig, runner(fmt, data, sig), fmt)
    meta = {
        "format": fmt,
        "file": target.name,
        "source": str(folder),
        **details,
        "inputs": [s.to_dict() for s in sig.inputs],
        "outputs": [s.to_dict() for s in outputs],
        "parity": {"max_abs_error": max_error, "atol": ATOL, "rtol": RTOL, "checked": checked},
        **_what_the_model_does_not_do(folder, trained),
    }
    atomic_write_bytes(target, data)
    try:
        atomic_write_json(sidecar, meta)
    except BaseException:
        target.unlink(missing_ok=True)  # a model file without its sidecar would be unexplained
        raise
    return Exported(target, sidecar, max_error, meta)


def _model_folder(path: Path, variant: str | None) -> Path:
    """The folder holding model.json: a run directory (or its `variant`), or the folder itself."""
    if (path / "summary.json").exists() or not (path / "model.json").exists():
        from nnjournal.predict_io import model_folder

        return model_folder(path, variant)
    if variant is not None:
        raise NNJError(f"--variant {variant!r}: {path} holds one model (model.json), not a multi-model run")
    return path


def check_parity(sig: Signature, run: Runner, fmt: str) -> tuple[float, list[dict[str, int]]]:
    """Run PyTorch and the exported file on the same fresh inputs; refuse on any output outside
    the tolerance. Returns the largest absolute difference and the shapes checked."""
    gen = torch.Generator().manual_seed(2)
    sizes = [(7, 5), (1, 1), (2, sig.example_time)] if sig.time_axis else [(7, None), (1, None)]
    worst = 0.0
    for batch, time in sizes:
        inputs = sig.sample(batch, time, gen)
        where = f"a batch of {batch}" + (f" x {time} steps" if time else "")
        with torch.no_grad():
            expected = [t.numpy() for t in sig.module(*inputs)]
        try:
            got = run(inputs)
        except Exception as err:  # onnxruntime and TorchScript raise their own types
            first = str(err).strip().splitlines()[0][:200]
            raise NNJError(f"the exported {fmt} model fails on {where} ({first}); nothing was written") from None
        for name, e, g in zip(sig.outputs, expected, got, strict=True):
            if e.shape != g.shape:
                raise NNJError(f"the exported {fmt} model's output {name!r} has shape {g.shape} on {where}, "
                               f"PyTorch gives {e.shape}; nothing was written")
            diff = np.abs(e.astype(np.float64) - g)
            worst = max(worst, float(diff.max(initial=0.0)))
            if not np.allclose(g, e, rtol=RTOL, atol=ATOL):
                raise NNJError(f"the exported {fmt} model's output {name!r} differs from PyTorch by up to "
                               f"{float(diff.max()):.3g} on {where} (allowed {ATOL:g} + {RTOL:g} x |value|); "
                               "nothing was written")
    return worst, [{"batch": b, **({"time": t} if t else {})} for b, t in sizes]


def _what_the_model_does_not_do(folder: Path, trained: Any) -> dict[str, Any]:
    """What a user needs beside the graph: the preprocessing that makes its inputs, the task's
    fitted values (a regression target's mean and std), class names, threshold, vocabulary."""
    saved = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    extra: dict[str, Any] = {"task": saved["task"], "preprocessing": saved["preprocessing"]}
    if trained.info.class_names is not None:
        extra["class_names"] = trained.info.class_names
    if trained.threshold is not None:
        extra["threshold"] = trained.threshold
    if trained.vocab is not None:
        extra["vocab"] = trained.vocab.to_dict()
    return extra
