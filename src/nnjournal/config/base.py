"""The base of every config section: unknown keys are errors, assignments are validated."""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated,
    true/false is not a number (pydantic's lax mode would read `weight_noise = true` as 1.0),
    and nan / inf are not numbers either (`lr = nan` passed `gt=0` and diverged at the first
    step, after the run directory existed)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key)
                if isinstance(value, bool) and field is not None and not _admits_bool(field.annotation):
                    raise ValueError(
                        f"{key} = {str(value).lower()} is not valid: {key} is not an on/off switch "
                        "(`nnj show RECIPE` shows the kind of value it takes)"
                    )
        return data


def _admits_bool(annotation: Any) -> bool:
    """Whether a field's type accepts a bare true/false (bool, Any, or a Literal of one)."""
    if annotation is bool or annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(a, bool) for a in get_args(annotation))
    if get_origin(annotation) is list:  # a list's items are not the field's value
        return False
    return any(_admits_bool(a) for a in get_args(annotation))  # unions, e.g. bool | Literal["auto"]
