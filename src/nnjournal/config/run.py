"""`RunConfig`: a whole recipe (data + model + task + training + evaluation + journal, and
optional study and variants), and its validation with errors named by dotted path."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, SerializeAsAny, ValidationError, field_validator, model_validator

from nnjournal.config.base import Strict
from nnjournal.config.data import DataConfig, DigitsData
from nnjournal.config.evaluation import EvaluationConfig, JournalConfig, StudyConfig
from nnjournal.config.model import MLPModel, ModelConfig
from nnjournal.config.overrides import deep_merge
from nnjournal.config.search import SearchConfig
from nnjournal.config.task import ClassificationTask, TaskSection, task_section
from nnjournal.config.training import EnsembleConfig, TrainingConfig
from nnjournal.errors import NNJError


class RunConfig(Strict):
    """One experiment: everything needed to reproduce it."""

    recipe: str = "custom"
    # numpy's generators refuse negative seeds, torch's overflow past 2**64 (with a traceback
    # after the run directory was made); seeds derived by adding stay far inside this range
    seed: int = Field(0, ge=0, le=2**32 - 1)
    data: DataConfig = Field(default_factory=DigitsData)
    model: ModelConfig = Field(default_factory=MLPModel)
    task: SerializeAsAny[TaskSection] = Field(default_factory=ClassificationTask)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    study: StudyConfig | None = None
    search: SearchConfig | None = None  # what `nnj tune` searches; `nnj run` ignores it
    # Named variants trained side by side in one journal entry; each is a partial recipe
    # deep-merged over this one (e.g. XOR: perceptron vs MLP).
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("task", mode="before")
    @classmethod
    def _task_by_name(cls, raw: Any) -> TaskSection:
        try:
            return task_section(raw)
        except ValidationError as err:  # report the section's own keys as task.<key>
            raise ValueError(format_validation_error(err, where="task.")) from None

    @model_validator(mode="after")
    def _snapshots_need_an_epoch_per_cycle(self) -> RunConfig:
        e = self.ensemble
        if e.size > 1 and e.method == "snapshot" and self.training.epochs < e.size:
            raise ValueError(
                f"ensemble.method = 'snapshot' splits training.epochs ({self.training.epochs}) into "
                f"ensemble.size ({e.size}) cosine cycles: set training.epochs to at least {e.size}"
            )
        return self

    def variant_configs(self) -> dict[str, RunConfig]:
        """The resolved config of each variant (just this one when there are none)."""
        if not self.variants:
            return {self.model.name: self}
        base = self.model_dump(mode="json", exclude={"variants"})
        out = {}
        for name, partial in self.variants.items():
            merged = deep_merge(base, partial)
            out[name] = validate_config(merged, where=f"variants.{name}.")
        return out


# ---------------------------------------------------------------- helpers
_UNION_FIELDS = {"data", "model"}


def _dotted(loc: tuple[Any, ...]) -> str:
    """`('model', 'mlp', 'hidden', 0)` -> `model.hidden[0]`: drop pydantic's union tag."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if i == 1 and loc[0] in _UNION_FIELDS and isinstance(item, str):
            continue  # the discriminator tag, e.g. 'mlp'
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def format_validation_error(err: ValidationError, where: str = "") -> str:
    lines = []
    for e in err.errors():
        path = (where + _dotted(tuple(e["loc"]))).rstrip(".")  # a section's own error: "task", not "task."
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; `nnj show RECIPE` lists the valid keys)"
        elif e["type"] == "union_tag_invalid":
            msg = e["msg"].replace("Input tag", "name")
        elif e["type"] == "union_tag_not_found":  # pydantic: "Unable to extract tag using discriminator"
            msg = f"has no name: say which kind it is ({path}.name = ..., see `nnj show RECIPE`)"
        elif e["type"] == "value_error":  # our own validators' messages are complete sentences
            msg = msg.removeprefix("Value error, ")
            local = _dotted(tuple(e["loc"]))
            if msg.startswith(f"{local}.") or msg.startswith(f"{local}:"):
                lines.append(where + msg)  # a nested section's error, already named by its own path
                continue
        elif e["type"] == "list_type" and isinstance(e.get("input"), (int, float, str)):
            shown = json.dumps(e["input"])  # TOML writes a list as JSON does: [64], ["a"]
            msg = f"{msg}, got {e['input']!r}: write it as a list, {path} = [{shown}]"
        elif "input" in e and e["type"] not in ("missing",) and not isinstance(e["input"], dict):
            msg = f"{msg}, got {e['input']!r}"
        lines.append(f"{path}: {msg}" if path else msg)
    return "; ".join(lines)


def validate_config(raw: dict[str, Any], where: str = "") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        raise NNJError(f"invalid recipe: {format_validation_error(err, where)}{_variants_hint(err, raw)}") from None


def _variants_hint(err: ValidationError, raw: dict[str, Any]) -> str:
    """Where a recipe names its models (or data) in its variants only, `--set model.hidden=...`
    makes a nameless base section; say where the setting belongs instead."""
    for e in err.errors():
        section = e["loc"][0] if e["type"] == "union_tag_not_found" and len(e["loc"]) == 1 else None
        holders = [v for v, part in (raw.get("variants") or {}).items() if isinstance(part, dict) and section in part]
        if holders:
            return (
                f"; this recipe sets {section} in its variants ({', '.join(holders)}): set "
                f"variants.{holders[-1]}.{section}.KEY=VALUE to change one of them"
            )
    return ""
