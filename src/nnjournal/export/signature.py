"""What an exported model takes and returns: named tensors of fixed dtype, the batch axis (and a
character model's time axis) free, the rest fixed by the saved `DataInfo`.

PyTorch models here return a tensor, a NamedTuple (`AEOutput(recon, code, penalty)`,
`VAEOutput(recon, code, logvar, kl)`) or, for the character model, `(logits, state)`. ONNX and
TorchScript graphs return a flat list of tensors, so `Signature.module` wraps the model to return
a tuple in a fixed order whose names (the NamedTuple's own field names) go into the sidecar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nnjournal.errors import NNJError
from nnjournal.models.recurrent_cells import ManualRNN
from nnjournal.models.rnn import CharLM
from nnjournal.saved_model import TrainedModel

# NamedTuple fields that only mean something in training: an autoencoder's penalty is zeros in
# evaluation mode, so exporting it would only add an output nobody can use.
TRAINING_ONLY = frozenset({"penalty"})

# A dimension is an int (fixed) or the name of a free axis.
Shape = tuple[int | str, ...]


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: Shape
    dtype: torch.dtype
    about: str  # what the values mean ("uint8 pixels 0..255 ...")
    high: int | None = None  # integer inputs: ids are 0..high-1


    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": str(self.dtype).removeprefix("torch."),
                "about": self.about, **({"values": [0, self.high - 1]} if self.high else {})}


@dataclass
class Signature:
    """`module(*inputs)` returns a tuple of tensors named `outputs`; `sample(batch, time, gen)`
    draws valid inputs (time ignored unless `time_axis`)."""

    module: nn.Module
    inputs: list[TensorSpec]
    outputs: list[str]
    time_axis: bool
    example_time: int

    def sample(self, batch: int, time: int | None, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        sizes = {"batch": batch, "time": time or self.example_time}
        return tuple(_draw(spec, sizes, generator) for spec in self.inputs)


def _draw(spec: TensorSpec, sizes: dict[str, int], generator: torch.Generator) -> torch.Tensor:
    shape = [sizes[d] if isinstance(d, str) else d for d in spec.shape]
    if spec.dtype == torch.uint8:
        return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)
    if spec.high is not None:
        return torch.randint(0, spec.high, shape, generator=generator)
    return torch.randn(shape, generator=generator)


def refusal(trained: TrainedModel) -> str | None:
    """Why `trained` cannot be exported, or None. One sentence with what to do instead."""
    from nnjournal.models.gan import GAN
    from nnjournal.models.seq2seq import Seq2Seq
    from nnjournal.regularization.ensemble import Ensemble

    model = trained.model
    if isinstance(model, Ensemble):
        return (f"it is an ensemble of {len(model.members)} models combined in Python; "
                "retrain with ensemble.size = 1 to export one network")
    if isinstance(model, GAN):
        return "it is a GAN (a generator and a discriminator trained together); use `nnj sample` to draw images"
    if isinstance(model, Seq2Seq):
        return "it is an encoder-decoder whose decoding is a loop over generated tokens (greedy or beam search)"
    return None


def signature(trained: TrainedModel) -> Signature:
    """The inputs and outputs `trained` is exported with."""
    model, info = trained.model, trained.info
    if isinstance(model, CharLM):
        return _char_lm(model, info.input_shape[0])
    if info.vocab_size:
        spec = TensorSpec("tokens", ("batch", *info.input_shape), torch.int64, "token ids", info.vocab_size)
    elif trained.takes_pixels:
        spec = TensorSpec("pixels", ("batch", *info.input_shape), torch.uint8,
                          "uint8 pixels 0..255 (the model standardizes them)")
    else:
        spec = TensorSpec("x", ("batch", *info.input_shape), torch.float32,
                          "inputs after the saved preprocessing (see 'preprocessing')")
    with torch.no_grad():
        probe = model(_draw(spec, {"batch": 2}, torch.Generator().manual_seed(0)))
    names, pick = _flatten(probe, "logits" if info.n_classes else "output")
    return Signature(_Flat(model, pick).eval(), [spec], names, time_axis=False, example_time=0)


def _flatten(out: Any, tensor_name: str) -> tuple[list[str], Callable[[Any], tuple[torch.Tensor, ...]]]:
    """Output names and a function taking the model's output to a tuple of tensors."""
    if isinstance(out, torch.Tensor):
        return [tensor_name], lambda o: (o,)
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        keep = [i for i, f in enumerate(out._fields) if f not in TRAINING_ONLY]
        return [out._fields[i] for i in keep], lambda o: tuple(o[i] for i in keep)
    raise NNJError(f"cannot export a model returning {type(out).__name__}: expected a tensor or a NamedTuple")


class _Flat(nn.Module):
    """The model with its output as a flat tuple of tensors (ONNX and TorchScript outputs)."""

    def __init__(self, model: nn.Module, pick: Callable[[Any], tuple[torch.Tensor, ...]]) -> None:
        super().__init__()
        self.model, self.pick = model, pick

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.pick(self.model(x))


class _CharLMStep(nn.Module):
    """CharLM with its recurrent state as explicit inputs and outputs, so a runtime can score a
    text window by window or generate one character at a time, carrying the state itself.
    (Fixed arguments, no *args: torch.export matches dynamic shapes to the signature.)"""

    def __init__(self, model: CharLM) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(tokens, h0)


class _CharLSTMStep(_CharLMStep):
    def forward(self, tokens: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor) -> tuple[torch.Tensor, ...]:  # type: ignore[override]
        logits, (h, c) = self.model(tokens, (h0, c0))
        return logits, h, c


def _char_lm(model: CharLM, window: int) -> Signature:
    enc = model.encoder
    state: Shape = (enc.num_layers, "batch", enc.hidden_size)
    # The hand-written cells loop over time in Python, so the graph is unrolled for one length.
    free_time = not any(isinstance(m, ManualRNN) for m in model.modules())
    inputs = [
        TensorSpec("tokens", ("batch", "time" if free_time else window), torch.int64,
                   "character ids ('vocab')", model.vocab_size),
        TensorSpec("h0", state, torch.float32, "recurrent state (zeros to start a text)"),
    ]
    if enc.cell != "lstm":
        return Signature(_CharLMStep(model).eval(), inputs, ["logits", "h"], time_axis=free_time, example_time=window)
    inputs.append(TensorSpec("c0", state, torch.float32, "LSTM cell state (zeros to start a text)"))
    return Signature(_CharLSTMStep(model).eval(), inputs, ["logits", "h", "c"], time_axis=free_time,
                     example_time=window)


# What each output is, for the sidecar (names are the PyTorch output's own field names).
ABOUT = {
    "logits": "class scores before softmax (one column and a sigmoid for two classes), in class_names order",
    "output": "the network's raw output; 'task' says how it maps to the target's units",
    "recon": "the reconstruction, on the inputs' scale",
    "code": "the code (a VAE: the posterior mean)",
    "logvar": "the posterior's log-variance",
    "kl": "KL(q(z|x) || N(0, I)) per example, in nats",
    "h": "the recurrent state after the last step (feed it back as h0)",
    "c": "the LSTM cell state after the last step (feed it back as c0)",
}


def output_specs(sig: Signature) -> list[TensorSpec]:
    """Each output's shape with its free axes named: found by running the module at two batch
    sizes (and two lengths) and seeing which dimensions follow."""
    gen = torch.Generator().manual_seed(0)
    t = sig.example_time
    with torch.no_grad():
        base = sig.module(*sig.sample(3, t, gen))
        wider = sig.module(*sig.sample(4, t, gen))
        longer = sig.module(*sig.sample(3, t + 1, gen)) if sig.time_axis else base
    specs = []
    for name, a, b, c in zip(sig.outputs, base, wider, longer, strict=True):
        shape = tuple("batch" if a.shape[i] != b.shape[i] else "time" if a.shape[i] != c.shape[i] else a.shape[i]
                      for i in range(a.dim()))
        specs.append(TensorSpec(name, shape, a.dtype, ABOUT.get(name, "")))
    return specs
