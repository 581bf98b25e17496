"""A trained model as files a user can share safely: `model.safetensors` (weights, no
pickle) and `model.json` (model spec, task, data info, fitted preprocessing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import TypeAdapter
from safetensors.torch import load_file, save

from nnjournal import models
from nnjournal.config import EnsembleConfig, ModelConfig
from nnjournal.data.bundle import DataInfo
from nnjournal.data.preprocessing import Preprocessing, preprocessing_from_dict
from nnjournal.data.tabular_encoding import TabularPreprocessing
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes, atomic_write_json
from nnjournal.regularization.ensemble import Ensemble
from nnjournal.tasks import build_task
from nnjournal.training.predict import predict_outputs

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

    def outputs(self, x_raw: Any) -> torch.Tensor:
        """Raw model outputs. `x_raw` is an array, or for tabular models named columns (a dict
        of columns, a list of row dicts or a DataFrame)."""
        x = torch.from_numpy(self.preprocessing.transform(x_raw))
        return predict_outputs(self.model, x)

    def predict(self, x_raw: Any) -> np.ndarray:
        """Predictions in the labels' own terms, as scikit-learn returns them: class names as
        strings ("yes"/"no"), or integers where every class name is one (digits, 0/1 targets),
        so `predict(x) == y` compares like with like."""
        outputs = self.outputs(x_raw)
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

    def predict_proba(self, x_raw: Any) -> np.ndarray:
        if not hasattr(self.task, "proba"):
            raise NNJError(f"predict_proba needs a classification model; this one is {self.task.name}")
        return self.task.proba(self.outputs(x_raw))


def save_model(
    folder: Path,
    model: torch.nn.Module,
    model_cfg: Any,
    task: Any,
    info: DataInfo,
    preprocessing: Preprocessing | TabularPreprocessing,
    threshold: float | None = None,
    ensemble: EnsembleConfig | None = None,
) -> None:
    """`ensemble` marks `model` as an `Ensemble` of `ensemble.size` members built from
    `model_cfg` (their weights are the `members.<i>.` entries). `task` is the recipe's task
    section (or a task name)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / "model.safetensors", save(state))
    atomic_write_json(
        folder / "model.json",
        {
            "format": "nnjournal-model/1",
            "model": model_cfg.model_dump(mode="json"),
            "task": task if isinstance(task, str) else task.model_dump(mode="json"),
            "info": info.to_dict(),
            "preprocessing": preprocessing.to_dict(),
            **({"threshold": threshold} if threshold is not None else {}),
            **({"ensemble": ensemble.model_dump(mode="json")} if ensemble is not None else {}),
        },
    )


def load_model(folder: Path | str) -> TrainedModel:
    """Load `model.json` + `model.safetensors` from a run (or variant) directory."""
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.exists():
        raise NNJError(f"no model.json in {folder}: not a finished run directory")
    meta = json.loads(meta_path.read_text())
    info = DataInfo.from_dict(meta["info"])
    task = build_task(meta["task"], info)
    model_cfg = _MODEL_ADAPTER.validate_python(meta["model"])
    if "ensemble" in meta:
        ens = EnsembleConfig.model_validate(meta["ensemble"])
        members = [models.build(model_cfg, info, task.out_features) for _ in range(ens.size)]
        model = Ensemble(members, task.ensemble_outputs, ens.combine)
    else:
        model = models.build(model_cfg, info, task.out_features)
    model.load_state_dict(load_file(folder / "model.safetensors"))
    model.eval()
    return TrainedModel(
        model, task, info, preprocessing_from_dict(meta["preprocessing"]), meta.get("threshold")
    )


# ---------------------------------------------------------------- GAN (issue 13)
def load_gan(run_dir: Path | str, variant: str | None = None) -> Any:
    """The GAN of a finished run (or variant) directory, in evaluation mode; another kind of
    model, or a folder that is not a finished run, is a user error."""
    from nnjournal.models.gan import GAN

    run_dir = Path(run_dir)
    folder = run_dir
    summary_path = run_dir / "summary.json"
    if not (run_dir / "model.json").exists() and summary_path.exists():
        variants = json.loads(summary_path.read_text())["variants"]
        name = variant or next(iter(variants))
        if name not in variants:
            raise NNJError(f"unknown variant {name!r}; this run has {', '.join(variants)}")
        folder = run_dir / "variants" / name
    if not (folder / "model.json").exists():
        raise NNJError(f"{run_dir} is not a finished run directory (no model.json)")
    meta = json.loads((folder / "model.json").read_text())
    if meta.get("model", {}).get("name") != "gan":
        raise NNJError(
            f"{run_dir} holds a {meta.get('model', {}).get('name', 'unknown')} model, not a GAN; "
            "nnj sample needs a run of a GAN recipe (gan-mnist, dcgan-mnist, cgan-mnist, ...)"
        )
    model = load_model(folder).model
    if not isinstance(model, GAN):
        raise NNJError(f"{folder} does not hold a GAN")
    return model
