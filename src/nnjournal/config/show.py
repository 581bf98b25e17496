"""What `nnj show` prints: a resolved recipe as TOML with every setting that applies to it.

TOML has no null, so a setting whose value is unset (`data.path`, `data.target`, ...) is a
comment line `# target = (none): the column to predict` in its table. Settings that cannot
apply to the recipe's task or data (a GAN's options on a classifier, denoising corruptions
without an autoencoder, image augmentation on a CSV) are left out while they hold their
defaults, so the output still reads back as the same recipe; `everything=True` keeps them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from nnjournal.config.run import RunConfig
from nnjournal.config.toml_io import to_toml
from nnjournal.config.training import SUPERVISED_ONLY

AUTOENCODER_TASKS = {"reconstruction", "compression", "vae"}
CLASSLESS_TASKS = {"regression", "reconstruction", "compression", "vae", "gan", "forecasting", "sequence-regression"}
IMAGE_DATA = {"mnist", "fashion-mnist", "kmnist", "cifar10", "image-folder", "arrays"}  # arrays: may be images
IMAGE_AUGMENT = ("crop_padding", "hflip", "rotation", "zoom", "translate", "brightness", "contrast", "cutout")
DENOISING = ("mask_fraction", "salt_pepper_fraction", "square_mask", "clip", "watermark")


def _autoencoder(cfg: RunConfig) -> bool:
    return cfg.task.name in AUTOENCODER_TASKS


def _classes(cfg: RunConfig) -> bool:
    return cfg.task.name not in CLASSLESS_TASKS


def _images(cfg: RunConfig) -> bool:
    return cfg.data.name in IMAGE_DATA or bool(getattr(cfg.data, "as_images", False))


# Dotted path -> whether the setting can apply to a recipe. Paths not listed always apply.
APPLIES: dict[str, Callable[[RunConfig], bool]] = {
    "training.adversarial": lambda cfg: cfg.task.name == "gan",
    **{f"training.{name}": lambda cfg: cfg.task.name != "gan" for name in SUPERVISED_ONLY},
    **{f"training.augment.{name}": _autoencoder for name in DENOISING},
    **{f"training.augment.{name}": _images for name in IMAGE_AUGMENT},
    "training.label_smoothing": _classes,
    "evaluation.downstream": _autoencoder,
    "evaluation.pca_components": _autoencoder,
    "model.quantiser": lambda cfg: getattr(cfg.model, "code_bits", None) is not None,  # compression (issue 18)
    "evaluation.threshold": lambda cfg: cfg.task.name == "classification",
    "evaluation.mc_dropout": _classes,
    "evaluation.cv": lambda cfg: cfg.data.name == "csv",
    "ensemble.combine": _classes,
    # the trackers' settings (issue 17), shown once their logger is asked for
    "training.tensorboard_dir": lambda cfg: "tensorboard" in cfg.training.loggers,
    "training.tracking_uri": lambda cfg: "mlflow" in cfg.training.loggers,
    "training.experiment_name": lambda cfg: "mlflow" in cfg.training.loggers,
}

HEADER = (
    "# Every setting of this recipe. `# key = (none)` lines are unset (TOML has no null value);\n"
    "# give one a value with --set KEY=VALUE or in a recipe file.\n"
)


def show_toml(cfg: RunConfig, *, everything: bool = False) -> str:
    """`cfg` as TOML for `nnj show`: unset settings as comments, and (unless `everything`)
    settings that do not apply to its task and data left out while at their defaults."""
    unset: dict[str, list[str]] = {}
    hidden: list[str] = []
    view = _view(cfg, cfg.model_dump(mode="json"), "", cfg, unset, hidden, everything)
    text = _with_unset(to_toml(view), unset)
    if not hidden:
        return HEADER + "\n" + text
    groups: dict[str, list[str]] = {}
    for dotted in hidden:
        table, _, name = dotted.rpartition(".")
        groups.setdefault(table, []).append(name)
    listed = "; ".join(f"{table}: {', '.join(names)}" if table else ", ".join(names) for table, names in groups.items())
    note = (
        f"Left out, as they do not apply to a {cfg.task.name} task on {cfg.data.name} data and hold their "
        f"defaults (`nnj show --all` lists them): {listed}."
    )
    return HEADER + "".join(f"# {line}\n" for line in textwrap.wrap(note, 96)) + "\n" + text


def _view(
    obj: Any,
    dumped: dict[str, Any],
    path: str,
    cfg: RunConfig,
    unset: dict[str, list[str]],
    hidden: list[str],
    everything: bool,
) -> dict[str, Any]:
    """`dumped` without unset values (recorded in `unset` by table) and, unless `everything`,
    without the settings that do not apply (recorded in `hidden`)."""
    fields = type(obj).model_fields if isinstance(obj, BaseModel) else {}
    out: dict[str, Any] = {}
    for name, value in dumped.items():
        dotted = f"{path}.{name}" if path else name
        field = fields.get(name)
        applies = APPLIES.get(dotted)
        if not everything and applies is not None and not applies(cfg) and _at_default(obj, name):
            hidden.append(dotted)
            continue
        if value is None:
            if field is not None and not _is_section(field):
                unset.setdefault(path, []).append(f"# {name} = (none): {field.description or 'unset'}")
            continue
        if isinstance(value, dict):
            if not value and name == "variants":
                continue  # no variants: an empty table says nothing
            child = getattr(obj, name, None) if isinstance(obj, BaseModel) else None
            out[name] = _view(child, value, dotted, cfg, unset, hidden, everything)
            continue
        out[name] = value
    return out


def _at_default(obj: Any, name: str) -> bool:
    if not isinstance(obj, BaseModel):
        return False
    field = type(obj).model_fields[name]
    return getattr(obj, name) == field.get_default(call_default_factory=True)


def _is_section(field: Any) -> bool:
    """An optional table (`[study]`, `[search]`) rather than a setting: not listed when unset."""
    args = getattr(field.annotation, "__args__", ())
    return any(isinstance(a, type) and not hasattr(a, "__origin__") and issubclass(a, BaseModel) for a in args)


def _with_unset(text: str, unset: dict[str, list[str]]) -> str:
    """`text` with each table's unset-setting comments after its keys (the table's header is
    added where TOML had no reason to write one)."""
    lines = text.splitlines()
    for table, comments in unset.items():
        if not table:  # top-level settings: before the first table
            first = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
            lines[first:first] = [*comments, ""]
            continue
        header = f"[{table}]"
        if header in lines:
            end = lines.index(header) + 1
            while end < len(lines) and lines[end] != "":
                end += 1
            lines[end:end] = comments
            continue
        below = next(
            (i for i, line in enumerate(lines) if line.startswith((f"[{table}.", f"[[{table}."))), None
        )
        if below is None:
            lines += ["", header, *comments]
        else:
            lines[below:below] = [header, *comments, ""]
    return "\n".join(lines) + "\n"
