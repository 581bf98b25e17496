"""What `training.precision`, `training.compile` and `training.channels_last` do to one fit.

- **precision** (Lightning's names): `"32"` is plain float32. `"bf16"` (= `"bf16-mixed"`)
  runs the step's forward and loss under `torch.autocast(dtype=bfloat16)` on the CPU or a GPU
  while the weights, gradients and optimizer state stay float32 (master weights); bfloat16 has
  float32's exponent range, so no loss scaling is needed. `"16-mixed"` is float16 autocast with
  a `torch.amp.GradScaler` (float16 gradients underflow without it), on CUDA only: the CPU
  has no fast float16 path, so it is refused there. The model's outputs are cast back to
  float32 at its boundary (a forward hook), so losses, metrics and a recurrent state carried
  to the next batch are float32 whatever ran inside. Validation runs under the same autocast;
  the final metrics, the saved weights and `nnj predict` are float32.
- **compile**: the step and validation call `torch.compile(model)`; everything else
  (callbacks, the non-finite guard's diagnosis, checkpoints, the saved model) uses the plain
  module, whose `state_dict` has no `_orig_mod.` prefixes.
- **channels_last**: weights and 4-D inputs in NHWC order, which cuDNN's tensor-core
  convolutions want; `"auto"` turns it on for models with 2-D convolutions on CUDA only (on
  the CPU it helped 28x28 MNIST, 1.35x, and not 8x8 digits, 0.95x, and would change every CNN
  recipe's numbers in the last bits: docs/benchmarks.md "Precision, compile, channels-last").
  The model is put back in the usual layout when training ends.

`fit` uses it as `amp = Precision(cfg, model, device)` (checks, nothing changed yet), `with
amp:` around the loop (hooks, layout, compile; undone on exit), `with amp.autocast():`
around the task's step, and `amp.backward(loss)`, `amp.unscale(optimizer)` (before
clipping), `amp.step(optimizer)` in place of `loss.backward()` / `optimizer.step()`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from nnjournal.errors import NNJError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The dtype the forward pass runs in, or None for plain float32."""
    return AUTOCAST_DTYPES.get(precision)


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def check_precision(cfg: Any, device: torch.device, model: nn.Module | None = None) -> None:
    """Refuse, in one line, what cannot run: float16 off CUDA, channels-last without 2-D
    convolutions. `cfg` is a `TrainingConfig`."""
    if cfg.precision == "16-mixed" and device.type != "cuda":
        raise NNJError(
            f"training.precision = '16-mixed' (float16 with a grad scaler) needs a CUDA GPU, and training "
            f"runs on {device.type}; use 'bf16' (bfloat16, also on the CPU) or '32'"
        )
    if cfg.channels_last is True and model is not None and not has_conv2d(model):
        raise NNJError(
            f"training.channels_last = true reorders 4-D image tensors for 2-D convolutions, and "
            f"{type(model).__name__} has none; set it to 'auto' or false"
        )


def precision_switch(cfg: Any) -> str | None:
    """The first of precision / compile / channels-last that `cfg` (a `TrainingConfig`) turns
    on, as `training.X = value`, or None (for trainers that have none of them)."""
    if cfg.precision != "32":
        return f"training.precision = '{cfg.precision}'"
    if cfg.compile:
        return "training.compile = true"
    if cfg.channels_last is True:
        return "training.channels_last = true"
    return None


def use_channels_last(setting: bool | str, model: nn.Module, device: torch.device) -> bool:
    if setting == "auto":
        return device.type == "cuda" and has_conv2d(model)
    return bool(setting)


def to_float32(outputs: Any) -> Any:
    """Half-precision floating tensors in `outputs` (a tensor, tuple, NamedTuple, list or
    dict of them) as float32; everything else unchanged."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.dtype in (torch.bfloat16, torch.float16) else outputs
    if isinstance(outputs, tuple) and hasattr(outputs, "_fields"):  # a NamedTuple
        return type(outputs)(*(to_float32(v) for v in outputs))
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(to_float32(v) for v in outputs)
    if isinstance(outputs, dict):
        return {k: to_float32(v) for k, v in outputs.items()}
    return outputs


def _float32_outputs(_module: nn.Module, _args: tuple[Any, ...], outputs: Any) -> Any:
    return to_float32(outputs)


def _channels_last_inputs(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        a.contiguous(memory_format=torch.channels_last) if isinstance(a, torch.Tensor) and a.dim() == 4 else a
        for a in args
    )


_NO_AUTOCAST = contextlib.nullcontext()  # reusable: nullcontext keeps no state


class Precision:
    """The precision, compile and memory-layout switches of one `fit` (see the module's doc)."""

    def __init__(self, cfg: Any, model: nn.Module, device: torch.device) -> None:
        check_precision(cfg, device, model)
        self.model = model
        self.device = device
        self.dtype = autocast_dtype(cfg.precision)
        self.compile = cfg.compile
        self.channels_last = use_channels_last(cfg.channels_last, model, device)
        # Only float16 needs loss scaling: bfloat16 has float32's exponent range.
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype is torch.float16 else None
        self.stepped: nn.Module = model  # the module the step trains through (DDP's wrapper when data-parallel)
        self.net: nn.Module = model  # what the step calls: the compiled `stepped` while `with` is open
        self._hooks: list[Any] = []

    def steps_through(self, net: nn.Module) -> None:
        """Train through `net` (the model wrapped for data-parallel training) instead of the model."""
        self.stepped = self.net = net

    @property
    def eval_net(self) -> nn.Module:
        """What validation calls: the compiled model in one process; the plain model when the
        step goes through a data-parallel wrapper (validation is each process's own slice)."""
        return self.net if self.stepped is self.model else self.model

    # -------------------------------------------------------------- set up / undo
    def __enter__(self) -> Precision:
        if self.dtype is not None:
            self._hooks.append(self.model.register_forward_hook(_float32_outputs))
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self._hooks.append(self.model.register_forward_pre_hook(_channels_last_inputs))
        if self.compile:
            # Its own cache bucket: otherwise every fit in a process (a study, a benchmark) adds
            # graphs to the same code objects' caches until dynamo's recompile limit (8) makes
            # it run the later models eagerly, with only a warning.
            self.net = torch.compile(self.stepped, isolate_recompiles=True)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        self.net = self.stepped
        if self.channels_last:  # safetensors and `nnj predict` want the usual contiguous layout
            self.model.to(memory_format=torch.contiguous_format)
        if self.compile and exc is not None and _is_compile_error(exc):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NNJError(
                f"training.compile = true: torch.compile could not compile {type(self.model).__name__} "
                f"({type(exc).__name__}: {first[:300]}); it needs a C++ compiler on the CPU (g++) or "
                "Triton on a GPU; set training.compile = false"
            ) from None

    # -------------------------------------------------------------- the step
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Around a forward pass and its loss: autocast to the precision's dtype (or nothing)."""
        if self.dtype is None:
            return _NO_AUTOCAST  # one shared object: this runs at every step
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Gradients in true units before anything reads them (clipping, norms)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)  # skipped when a gradient overflowed; the scale then shrinks
        self.scaler.update()

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def _is_compile_error(exc: BaseException) -> bool:
    from torch._dynamo.exc import TorchDynamoException
    from torch._inductor.exc import InductorError

    return isinstance(exc, (TorchDynamoException, InductorError))

