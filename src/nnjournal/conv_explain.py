"""Convolution output-size arithmetic, explained.

Along one dimension of size n, a kernel of size k dilated by d covers d(k - 1) + 1 inputs.
With p zeros padded on each side there are n + 2p inputs, so the kernel fits at
n + 2p - d(k - 1) positions one apart; a stride s keeps every s-th of them:

    out = floor((n + 2p - d(k - 1) - 1) / s) + 1

(The lecture notes print a different formula, which is wrong; this one is what PyTorch,
TensorFlow and the convolution-arithmetic guide of Dumoulin & Visin compute.)
"""

from __future__ import annotations

from dataclasses import dataclass

from nnjournal.errors import NNJError


@dataclass(frozen=True)
class ConvArithmetic:
    n: int  # input size along one dimension
    k: int  # kernel size
    s: int = 1  # stride
    p: int = 0  # zero padding on each side
    d: int = 1  # dilation

    def __post_init__(self) -> None:
        for name, value, least in (("input", self.n, 1), ("kernel", self.k, 1), ("stride", self.s, 1)):
            if value < least:
                raise NNJError(f"--{name} must be at least {least}, got {value}")
        if self.p < 0:
            raise NNJError(f"--padding must be 0 or more, got {self.p}")
        if self.d < 1:
            raise NNJError(f"--dilation must be at least 1, got {self.d}")

    @property
    def span(self) -> int:
        """Inputs one (dilated) kernel covers: d(k - 1) + 1."""
        return self.d * (self.k - 1) + 1

    @property
    def output(self) -> int:
        """floor((n + 2p - d(k - 1) - 1) / s) + 1, or 0 when the kernel does not fit."""
        room = self.n + 2 * self.p - self.span
        return room // self.s + 1 if room >= 0 else 0

    def positions(self, limit: int | None = None) -> list[int]:
        """Index (in the padded input) of the first input each output position sees (the first
        `limit` of them: an input of 10^10 has as many)."""
        count = self.output if limit is None else min(limit, self.output)
        return [i * self.s for i in range(count)]


def same_padding(k: int, d: int = 1) -> int:
    """Padding that keeps the size at stride 1 when d(k - 1) is even: d(k - 1) / 2."""
    return d * (k - 1) // 2


def explain(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> str:
    """A worked explanation of the output size, ending with the answer."""
    c = ConvArithmetic(n, k, s, p, d)
    padded = n + 2 * p
    lines = [
        "Output size of a convolution along one dimension:",
        "  out = floor((n + 2p - d(k - 1) - 1) / s) + 1",
        f"  with n = {n} (input), k = {k} (kernel), s = {s} (stride), p = {p} (padding), d = {d} (dilation)",
        "",
        "Worked example:",
        f"  1. Padding adds {p} zero(s) on each side: n + 2p = {n} + {2 * p} = {padded} inputs.",
        f"  2. The dilated kernel spans d(k - 1) + 1 = {d}*({k} - 1) + 1 = {c.span} inputs"
        + (f" (taps {d} apart)." if d > 1 else "."),
    ]
    room = padded - c.span
    if room < 0:
        lines += [
            f"  3. The kernel ({c.span}) is wider than the padded input ({padded}): it fits nowhere.",
            "",
            "Output size: 0 (PyTorch raises an error). Use more padding, a smaller kernel or dilation.",
        ]
        return "\n".join(lines)
    lines += [
        f"  3. It fits at n + 2p - d(k - 1) = {padded} - {c.span - 1} = {room + 1} start positions, one apart.",
        f"  4. Stride {s} keeps every {_ordinal(s)} start: floor({room} / {s}) + 1 = {room // s} + 1 = {c.output}.",
    ]
    starts = c.positions(limit=12)
    shown = ", ".join(str(i) for i in starts) + (", and so on" if c.output > 12 else "")
    lines.append(f"     Starts (0-based, in the padded input): {shown}.")
    unused = room % s
    if unused:
        lines.append(f"     The last {unused} input(s) are never the start of a window: stride leftovers.")
    lines += [
        "",
        f"Output size: {c.output}",
        f"('same' padding for this kernel is p = d(k - 1)/2 = {same_padding(k, d)}"
        # Evenly possible when the dilated span d(k - 1) + 1 is odd, i.e. d(k - 1) is even.
        + ("; " if d * (k - 1) % 2 == 0 else " rounded down; this span cannot be padded evenly; ")
        + "'valid' is p = 0.)",
    ]
    return "\n".join(lines)


def _ordinal(s: int) -> str:
    return {1: "", 2: "2nd", 3: "3rd"}.get(s, f"{s}th") or "single"
