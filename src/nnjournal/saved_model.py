"""A trained model as files a user can share safely: `model.safetensors` (weights, no
pickle) and `model.json` (model spec, task, data info, fitted preprocessing)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import TypeAdapter, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from nnjournal import models
from nnjournal.config import EnsembleConfig, ModelConfig
from nnjournal.data.bundle import DataInfo
from nnjournal.data.preprocessing import Preprocessing, preprocessing_from_dict
from nnjournal.data.tabular_encoding import TabularPreprocessing
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes, atomic_write_json
from nnjournal.regularization.ensemble import Ensemble
from nnjournal.tasks import TASKS, build_task
from nnjournal.training.predict import predict_outputs

# `nnj generate --length`: one step per character (~1 ms on a CPU for the recipe's LSTM), so at
# most a couple of minutes; a longer text is several calls with other seeds.
MAX_GENERATED = 100_000

_MODEL_ADAPTER = TypeAdapter(ModelConfig)


@dataclass
class TrainedModel:
    """A model ready to predict on raw inputs (preprocessing applied for you)."""

    model: torch.nn.Module
    task: Any
    info: DataInfo
    preprocessing: Preprocessing | TabularPreprocessing
    # Binary classification: P(positive) >= threshold predicts the positive class. Chosen on
    # validation data when the recipe asks for it; None means argmax (0.5).
    threshold: float | None = None
    vocab: Any = None  # character models: the vocabulary saved as vocab.json beside the weights

    def generate(
        self,
        prompt: str,
        length: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int = 0,
        on_text: Callable[[str], None] | None = None,
    ) -> str:
        """The prompt continued by `length` characters (a language model only). Temperature 0
        is greedy; the same seed gives the same text; unknown characters are refused by name.
        `on_text(text)` receives the text as it is produced (the prompt, then each new
        character), for streaming."""
        from nnjournal.data.text import CharVocab

        if not hasattr(self.model, "generate") or not isinstance(self.vocab, CharVocab):
            raise NNJError(f"generate needs a character language model; this run's task is {self.task.name}")
        if not 1 <= length <= MAX_GENERATED:  # one character per step: 10^12 would never end
            raise NNJError(f"--length must be at least 1 and at most {MAX_GENERATED:,} characters, got {length:,}")
        if not math.isfinite(temperature) or temperature < 0:
            raise NNJError(f"--temperature must be >= 0 (0 = greedy) and finite, got {temperature}")
        if not -(2**63) <= seed < 2**64:  # torch.Generator's range
            raise NNJError(f"--seed must be between -2**63 and 2**64 - 1, got {seed}")
        if top_k is not None and top_k < 1:
            raise NNJError(f"--top-k must be at least 1, got {top_k}")
        if not prompt:
            raise NNJError("--prompt is empty: give at least one character")
        from nnjournal.tasks.language_model import sample_text

        return sample_text(
            self.model, self.vocab, prompt, length, temperature=temperature, top_k=top_k, seed=seed, on_text=on_text
        )

    def forecast(self, values: Any) -> np.ndarray:
        """(horizon,) the next values of a series after its last one (a forecaster only):
        `values` in the series' own units, oldest first, at least the window (plus the seasonal
        lag) long. The log, seasonal difference and scaling of training are replayed and undone."""
        if not hasattr(self.task, "forecast"):
            raise NNJError(f"forecast needs a forecasting model; this run's task is {self.task.name}")
        return self.task.forecast(self.model, np.asarray(values, dtype=np.float64), self.info.input_shape[0])

    @property
    def takes_pixels(self) -> bool:
        """An image model that standardizes uint8 pixels itself (`models.pixels`): it can take
        decoded image files (`pixels=True` below)."""
        return self.info.is_image and self.info.pixel_mean is not None

    def outputs(self, x_raw: Any, *, pixels: bool = False) -> torch.Tensor:
        """Raw model outputs. `x_raw` is an array, or for tabular models named columns (a dict
        of columns, a list of row dicts or a DataFrame). `pixels=True`: `x_raw` is uint8 (n, C,
        H, W) pixels as the image loaders store them (decoded image files), fed to the model
        as they are, exactly as in training."""
        if pixels:
            if not self.takes_pixels:
                raise NNJError(f"this model takes {self.info.name} inputs, not image pixels")
            x = torch.from_numpy(np.ascontiguousarray(x_raw, dtype=np.uint8))
        else:
            x = torch.from_numpy(self.preprocessing.transform(x_raw))
        return predict_outputs(self.model, x)

    def predict(self, x_raw: Any, *, pixels: bool = False) -> np.ndarray:
        """Predictions in the labels' own terms, as scikit-learn returns them: class names as
        strings ("yes"/"no"), or integers where every class name is one (digits, 0/1 targets),
        so `predict(x) == y` compares like with like."""
        outputs = self.outputs(x_raw, pixels=pixels)
        if self.threshold is not None and getattr(self.task, "binary", False):
            pred = (self.task.proba(outputs)[:, 1] >= self.threshold).astype(np.int64)
        else:
            pred = self.task.predict(outputs)
        names = self.info.class_names
        if names is not None:
            if all(str(n).lstrip("-").isdigit() for n in names):
                return np.asarray([int(n) for n in names], dtype=np.int64)[pred]
            return np.asarray(names, dtype=object)[pred]
        return pred

    def predict_proba(self, x_raw: Any, *, pixels: bool = False) -> np.ndarray:
        if not hasattr(self.task, "proba"):
            raise NNJError(f"predict_proba needs a classification model; this one is {self.task.name}")
        return self.task.proba(self.outputs(x_raw, pixels=pixels))


def save_model(
    folder: Path,
    model: torch.nn.Module,
    model_cfg: Any,
    task: Any,
    info: DataInfo,
    preprocessing: Preprocessing | TabularPreprocessing,
    threshold: float | None = None,
    ensemble: EnsembleConfig | None = None,
    vocab: Any = None,
    fitted: dict[str, Any] | None = None,
) -> None:
    """`fitted` is what the task learned from the training data (`Task.fitted()`, e.g. a
    regression target's mean and std), kept in the task section. `ensemble` marks `model` as an `Ensemble` of `ensemble.size` members built from
    `model_cfg` (their weights are the `members.<i>.` entries). `task` is the recipe's task
    section (or a task name). `vocab` (anything with `to_dict`) is written as vocab.json."""
    if vocab is not None:
        atomic_write_json(folder / "vocab.json", vocab.to_dict())
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / "model.safetensors", save(state))
    atomic_write_json(
        folder / "model.json",
        {
            "format": "nnjournal-model/1",
            "model": model_cfg.model_dump(mode="json"),
            "task": {**_section(task), **({"fitted": fitted} if fitted else {})},
            "info": info.to_dict(),
            "preprocessing": preprocessing.to_dict(),
            **({"threshold": threshold} if threshold is not None else {}),
            **({"ensemble": ensemble.model_dump(mode="json")} if ensemble is not None else {}),
        },
    )


def _section(task: Any) -> dict[str, Any]:
    return {"name": task} if isinstance(task, str) else task.model_dump(mode="json")


def load_model(folder: Path | str) -> TrainedModel:
    """Load `model.json` + `model.safetensors` from a run (or variant) directory. A missing,
    damaged or mismatched file is an `NNJError` naming it."""
    folder = Path(folder)
    meta = _read_meta(folder / "model.json")
    damaged = f"{folder / 'model.json'} is damaged"
    try:
        info = DataInfo.from_dict(meta["info"])
        if not info.input_shape or not all(isinstance(d, int) and d > 0 for d in info.input_shape):
            raise ValueError(f"info.input_shape should be positive integers, found {list(info.input_shape)}")
        model_cfg = _MODEL_ADAPTER.validate_python(meta["model"])
        ens = EnsembleConfig.model_validate(meta["ensemble"]) if "ensemble" in meta else None
        preprocessing = preprocessing_from_dict(meta["preprocessing"])
        threshold = meta.get("threshold")
        if threshold is not None:
            threshold = float(threshold)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise NNJError(f"{damaged}: {where}: {first['msg']} (re-run the recipe to write it again)") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise NNJError(f"{damaged}: {type(err).__name__} {err} (re-run the recipe to write it again)") from None
    task = _task_from(meta, damaged, info)
    if ens is not None:
        members = [models.build(model_cfg, info, task.out_features) for _ in range(ens.size)]
        model: torch.nn.Module = Ensemble(members, task.ensemble_outputs, ens.combine)
    else:
        model = models.build(model_cfg, info, task.out_features)
    model.load_state_dict(_read_weights(folder / "model.safetensors", model))
    model.eval()
    vocab = _load_vocab(folder / "vocab.json", task, getattr(task, "out_features", None))
    if vocab is not None and hasattr(task, "vocab"):
        task.vocab = vocab
    return TrainedModel(model, task, info, preprocessing, threshold, vocab)



def _task_from(meta: dict[str, Any], damaged: str, info: DataInfo) -> Any:
    """The saved task section (or, in files written before sections, its name) as a task."""
    section = meta["task"]
    fitted = None
    if isinstance(section, dict) and "fitted" in section:
        section = dict(section)
        fitted = section.pop("fitted")
    name = section.get("name") if isinstance(section, dict) else section
    if name not in TASKS:
        raise NNJError(f"{damaged}: unknown task {name!r}; expected one of {', '.join(TASKS)}")
    try:
        task = build_task(section, info)
        if fitted is not None:
            if not isinstance(fitted, dict):
                raise ValueError(f"task.fitted should be a JSON object, found {type(fitted).__name__}")
            task.restore(fitted)
        return task
    except (ValidationError, ValueError, TypeError) as err:
        raise NNJError(f"{damaged}: task: {str(err).splitlines()[0]} (re-run the recipe)") from None


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise NNJError(f"no model.json in {path.parent}: not a finished run directory")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise NNJError(f"{path} is damaged: not valid JSON ({err}); re-run the recipe to write it again") from None
    if not isinstance(meta, dict):
        raise NNJError(f"{path} is damaged: expected a JSON object, found {type(meta).__name__}")
    missing = [k for k in ("model", "task", "info", "preprocessing") if k not in meta]
    if missing:
        raise NNJError(f"{path} is damaged: no {', '.join(missing)} (re-run the recipe to write it again)")
    for key in ("model", "info", "preprocessing"):
        if not isinstance(meta[key], dict):
            raise NNJError(f"{path} is damaged: {key!r} should be a JSON object, found {type(meta[key]).__name__}")
    return meta


def _read_weights(path: Path, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The tensors of `path`, checked against `model`'s own names and shapes, so weights of
    another model or a damaged file are one clear error rather than a PyTorch traceback."""
    if not path.exists():
        raise NNJError(f"{path} is missing: the run's weights are gone (re-run the recipe)")
    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise NNJError(f"{path} is damaged: not a readable safetensors file ({err})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise NNJError(
            f"{path} does not hold this model's weights (missing {len(missing)} tensor(s) such as "
            f"{(missing or ['-'])[0]!r}, {len(extra)} unexpected such as {(extra or ['-'])[0]!r}): it belongs "
            "to another model, or model.json was replaced"
        )
    wrong = [k for k, v in expected.items() if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        k = wrong[0]
        raise NNJError(
            f"{path} does not fit model.json: {k!r} has shape {tuple(state[k].shape)}, the model needs "
            f"{tuple(expected[k].shape)} (weights of another model?)"
        )
    return state


def _load_vocab(path: Path, task: Any, size: int | None) -> Any:
    """The vocabulary saved beside a sequence model (None for models without one): a task that
    decodes ids (`task.vocab`) needs it, with one entry per output of the model."""
    if not path.exists():
        if hasattr(task, "vocab"):
            raise NNJError(f"{path} is missing: the run was not saved completely (re-run the recipe)")
        return None
    from nnjournal.data.sequences import TokenVocab
    from nnjournal.data.text import CharVocab

    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        vocab = CharVocab.from_dict(d) if d.get("kind") == "chars" else TokenVocab.from_dict(d)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:  # JSONDecodeError is a ValueError
        raise NNJError(f"{path} is damaged ({type(err).__name__}: {err}); re-run the recipe to write it again") from None
    if size is not None and len(vocab) != size:
        raise NNJError(f"{path} is damaged: {len(vocab)} entries for a model of {size}; re-run the recipe")
    return vocab


# ---------------------------------------------------------------- GAN (issue 13)
def load_gan(run_dir: Path | str, variant: str | None = None) -> Any:
    """The GAN of a finished run (or variant) directory, in evaluation mode; another kind of
    model, or a folder that is not a finished run, is a user error."""
    from nnjournal.journal.run_dir import read_summary
    from nnjournal.models.gan import GAN

    run_dir = Path(run_dir)
    if not (run_dir / "model.json").exists() and not (run_dir / "summary.json").exists():
        raise NNJError(f"{run_dir} is not a finished run directory (no model.json)")
    # Read defensively, as `nnj predict` does: an unfinished run, a damaged summary.json or
    # model.json is one line, and --variant is checked on a one-model run too.
    variants = read_summary(run_dir)["variants"]
    if variant is not None and variant not in variants:
        raise NNJError(f"unknown --variant {variant!r}; this run has {', '.join(variants)}")
    folder = run_dir if len(variants) == 1 else run_dir / "variants" / (variant or next(iter(variants)))
    meta = _read_meta(folder / "model.json")
    if meta.get("model", {}).get("name") != "gan":
        raise NNJError(
            f"{run_dir} holds a {meta.get('model', {}).get('name', 'unknown')} model, not a GAN; "
            "nnj sample needs a run of a GAN recipe (gan-mnist, dcgan-mnist, cgan-mnist, ...)"
        )
    model = load_model(folder).model
    if not isinstance(model, GAN):
        raise NNJError(f"{folder} does not hold a GAN")
    return model
