"""`[training.augment.watermark]`: a generated watermark overlaid on training images as a
corruption (data/watermark.py); the validation and test images get one fixed seeded set."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from nnjournal.config.base import Strict


class WatermarkConfig(Strict):
    """Text in Pillow's default bitmap font (6 x 11 pixels per character), blended at a random
    position inside the image with a random opacity."""

    text: str | None = Field(
        None, min_length=1, description="the text on every image; none = random characters"
    )
    chars: int = Field(3, ge=1, le=32, description="random characters per image when text is unset")
    scale: int = Field(1, ge=1, le=8, description="each font pixel becomes scale x scale image pixels")
    opacity: tuple[float, float] = Field((0.4, 0.8), description="range of the blend weight, drawn per image")
    color: Literal["white", "black", "random"] = Field(
        "white", description="the mark's grey level: 1, 0, or drawn per image"
    )

    @field_validator("text")
    @classmethod
    def _bitmap_font_characters(cls, text: str | None) -> str | None:
        # Pillow's bitmap font encodes text as Latin-1: anything else would fail mid-run.
        bad = sorted({c for c in text or "" if ord(c) > 255})
        if bad:
            raise ValueError(
                f"{text!r} has character(s) {' '.join(bad)} that Pillow's bitmap font cannot draw "
                "(Latin-1 only, e.g. letters, digits, (c) and accented letters); use other characters"
            )
        return text

    @model_validator(mode="after")
    def _opacity_range(self) -> WatermarkConfig:
        lo, hi = self.opacity
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"opacity must be (low, high) with 0 < low <= high <= 1, got {self.opacity}")
        return self

    def describe(self) -> str:
        """One phrase for the report's training line."""
        what = repr(self.text) if self.text is not None else f"{self.chars} random characters"
        size = f" at {self.scale}x" if self.scale > 1 else ""
        lo, hi = self.opacity
        return f"{what} in the bitmap font{size}, {self.color}, opacity {lo:g}-{hi:g}, at a random place"
