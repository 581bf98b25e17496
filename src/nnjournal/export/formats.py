"""Writing a `Signature` as ONNX or TorchScript bytes, and running those bytes back.

ONNX: the torch.export-based exporter (PyTorch's default since 2.9) with a symbolic batch axis,
except for models with PyTorch's fused recurrent layers (nn.LSTM / nn.GRU / nn.RNN). torch.export
decomposes those into one graph step per time step and fixes the sequence length (checked on
torch 2.14: "specialized it to be a constant (32)"), while the TorchScript-based exporter writes
ONNX's own LSTM/GRU/RNN operators, whose time axis stays free. TorchScript: `torch.jit.trace`.
Both TorchScript paths are deprecated upstream; their deprecation warnings are silenced here
because the user cannot act on them, and the parity check says whether the file works."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from nnjournal.errors import NNJError
from nnjournal.export.signature import Signature, TensorSpec

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
Runner = Callable[[tuple[torch.Tensor, ...]], list[np.ndarray]]


def check_installed(fmt: str) -> None:
    """Refuse with the install line when the ONNX packages are missing."""
    if fmt != "onnx":
        return
    import importlib.util

    missing = [m for m in ("onnx", "onnxruntime", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise NNJError(f"--format onnx needs {', '.join(missing)}: pip install 'nnjournal[export]'")


def export_bytes(fmt: str, sig: Signature, outputs: list[TensorSpec], example: tuple[torch.Tensor, ...]
                 ) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and what wrote it (exporter, opset) for the sidecar."""
    if fmt == "torchscript":
        with _quiet_deprecations():
            traced = torch.jit.trace(sig.module, example, check_trace=False)
            buf = io.BytesIO()
            torch.jit.save(traced, buf)
        return buf.getvalue(), {"exporter": f"torch.jit.trace (torch {torch.__version__})"}
    names = [s.name for s in sig.inputs]
    out_names = [s.name for s in outputs]
    if any(isinstance(m, nn.RNNBase) for m in sig.module.modules()):
        return _legacy_onnx(sig, outputs, example, names, out_names)
    dims: dict[str, Any] = {}
    dynamic = tuple(
        {i: dims.setdefault(d, torch.export.Dim(d)) for i, d in enumerate(s.shape) if isinstance(d, str)}
        for s in sig.inputs
    )
    with _quiet_deprecations(), _quiet_optimizer():
        program = torch.onnx.export(sig.module, example, None, input_names=names, output_names=out_names,
                                    dynamo=True, dynamic_shapes=dynamic, verbose=False)
    proto = program.model_proto
    return proto.SerializeToString(), {"exporter": f"torch.onnx.export, dynamo (torch {torch.__version__})",
                                       "opset": _opset(proto)}


def _legacy_onnx(sig: Signature, outputs: list[TensorSpec], example: tuple[torch.Tensor, ...],
                 names: list[str], out_names: list[str]) -> tuple[bytes, dict[str, Any]]:
    axes = {s.name: {i: d for i, d in enumerate(s.shape) if isinstance(d, str)} for s in [*sig.inputs, *outputs]}
    buf = io.BytesIO()
    with _quiet_deprecations():
        torch.onnx.export(sig.module, example, buf, input_names=names, output_names=out_names, dynamo=False,
                          dynamic_axes=axes, opset_version=17)
    import onnx

    data = buf.getvalue()
    return data, {"exporter": f"torch.onnx.export, TorchScript-based (torch {torch.__version__}): "
                              "ONNX LSTM/GRU/RNN operators", "opset": _opset(onnx.load_from_string(data))}


def _opset(proto: Any) -> int:
    return next(int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx"))


@contextmanager
def _quiet_deprecations() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(deprecated|legacy TorchScript-based ONNX|will be removed).*")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        # "with a batch_size other than 1 ... GRU can cause an error": the parity check runs other sizes
        warnings.filterwarnings("ignore", message=r"Exporting a model to ONNX with a batch_size other than 1")
        # inputs sharing the one "batch" axis (tokens, h0, c0) are told they share it
        warnings.filterwarnings("ignore", message=r"# The axis name: .* shares the same shape constraints")
        yield


@contextmanager
def _quiet_optimizer() -> Iterator[None]:
    # onnxscript's optimizer logs a warning per node it leaves alone ("Skipping constant folding
    # for op Split with multiple outputs": hundreds for an unrolled recurrent model); without a
    # handler Python prints each one on stderr.
    log = logging.getLogger("onnxscript")
    before = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(before)


def runner(fmt: str, data: bytes, sig: Signature) -> Runner:
    """A function running the exported bytes on inputs, as a list of numpy outputs."""
    if fmt == "torchscript":
        with _quiet_deprecations():
            loaded = torch.jit.load(io.BytesIO(data))

        def run_ts(inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
            with torch.no_grad():
                return [t.numpy() for t in loaded(*inputs)]

        return run_ts
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # a parity check on small batches: threads only add noise
    options.log_severity_level = 3  # errors only; a failure is raised as an exception anyway
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    names = [s.name for s in sig.inputs]

    def run_onnx(inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
        return session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})

    return run_onnx
