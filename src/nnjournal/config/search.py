"""The `[search]` section: what `nnj tune` searches (a space keyed by dotted config paths),
how (sampler, pruner, trials, time), and whether trials cross-validate."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from nnjournal.config.base import Strict


class Dimension(Strict):
    """One searched setting: `{low, high}` (float or int by the numbers' types, `log = true`
    for a log scale, `step` for a grid) or `{choices = [...]}`."""

    # its own check below names both ends (the samplers cannot draw from an infinite range)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=True)

    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = Field(None, gt=0)
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _range_or_choices(self) -> Dimension:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either choices or low/high, not both")
            if not self.choices:
                raise ValueError("choices is empty: list at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (a range) or choices (a list)")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):  # the samplers cannot draw from them
            raise ValueError(f"low and high must be finite numbers, got {self.low} and {self.high}")
        if self.step is not None and self.step > self.high - self.low and self.high > self.low:
            raise ValueError(f"step {self.step} is larger than the range {self.low}..{self.high}: lower the step")
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log scale needs low > 0, got low = {self.low}")
        if self.log and self.step is not None:
            raise ValueError("step and log = true cannot be combined")
        return self

    @property
    def is_int(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.step, float)

    def grid(self) -> list[Any] | None:
        """The values a grid search takes, or None for a continuous range without a step."""
        if self.choices is not None:
            return list(self.choices)
        if self.is_int:
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            return None
        n = int(round((self.high - self.low) / self.step))
        return [self.low + i * self.step for i in range(n + 1)]


class SearchConfig(Strict):
    space: dict[str, Dimension] = Field(
        ..., min_length=1, description="dotted config path -> {low, high, log, step} or {choices}"
    )
    sampler: Literal["grid", "random", "tpe"] = "tpe"
    n_trials: int = Field(20, ge=1)
    timeout: float | None = Field(None, gt=0, description="seconds; trials stop starting after it")
    pruner: Literal["none", "median", "hyperband"] = "none"
    metric: str | None = Field(
        None, description="the validation metric to optimise (default: the task's headline)"
    )
    cv: int = Field(0, ge=0, description="k >= 2: k-fold cross-validation of train+val inside every trial")

    @model_validator(mode="after")
    def _cv_needs_two_folds(self) -> SearchConfig:
        if self.cv == 1:
            raise ValueError("cv = 1 is not cross-validation; use 0 (off) or k >= 2 folds")
        if self.sampler == "grid":
            open_ = [p for p, d in self.space.items() if d.grid() is None]
            if open_:
                raise ValueError(
                    f"sampler = 'grid' needs a finite grid: give {', '.join(open_)} a step or choices"
                )
        return self
