"""Rate and distortion of lossy image codes (issue 18's compression application).

Rate, in bits per image:
- fixed-length: code units x bits per unit, what sending every symbol in `bits` bits costs;
- empirical entropy: sum over code units of the entropy of that unit's symbols over the test
  images, what an ideal entropy coder with one static model per unit would reach (memoryless,
  so a lower bound only for coders that ignore the units' dependence).

Baselines at the same rate:
- PCA with each coefficient quantised uniformly (the quantiser's range fitted on the training
  split): the same number of components x bits as the autoencoder, and the best split of the
  same total bits (components x bits per component, chosen on the training split);
- JPEG (Pillow, standard Huffman tables) at a sweep of qualities, its rate measured from the
  encoded bytes, both the whole file and the entropy-coded payload alone. For 28x28 images the
  fixed header (quantisation and Huffman tables, ~600 bytes) is most of the file; a codec for
  many small images would agree on the tables once, so the payload is the fairer count.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from sklearn.decomposition import PCA

# Half-widths (in standard deviations of each coefficient) tried for PCA's quantiser range;
# the one with the lowest training-split error is kept. Wide ranges waste levels on rare
# values, narrow ones clip: the best width depends on the bits.
RANGE_WIDTHS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0)


def fixed_length_bits(units: int, bits: int) -> int:
    """Bits per image when each of `units` symbols is sent in `bits` bits."""
    return units * bits


def empirical_entropy_bits(symbols: np.ndarray) -> float:
    """Sum over columns of the entropy (bits) of the column's empirical symbol distribution:
    (n, units) integers -> bits per row an ideal per-unit entropy coder would need."""
    symbols = np.asarray(symbols)
    if symbols.ndim != 2 or len(symbols) == 0:
        raise ValueError(f"symbols must be (n, units) with n >= 1, got shape {symbols.shape}")
    total = 0.0
    for column in symbols.T:
        _, counts = np.unique(column, return_counts=True)
        p = counts / counts.sum()
        total += float(-(p * np.log2(p)).sum())
    return total


class UniformCoefficientQuantiser:
    """Per-column uniform quantiser with 2^bits cells over mean +- width * std (fitted on
    training values), reconstructing at the cell centres; values outside are clipped."""

    def __init__(self, bits: int, width: float) -> None:
        self.bits, self.width = bits, width

    def fit(self, values: np.ndarray) -> UniformCoefficientQuantiser:
        mean, std = values.mean(axis=0), values.std(axis=0) + 1e-12
        self.low_, self.step_ = mean - self.width * std, 2 * self.width * std / 2**self.bits
        return self

    def symbols(self, values: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((values - self.low_) / self.step_), 0, 2**self.bits - 1).astype(np.int64)

    def reconstruct(self, symbols: np.ndarray) -> np.ndarray:
        return self.low_ + (symbols + 0.5) * self.step_


class QuantisedPCA:
    """PCA with `components` coefficients of `bits` bits each. `fit` fits PCA (or takes a
    fitted one with at least `components` components: a sweep fits it once) and the
    quantiser's range width (from RANGE_WIDTHS, lowest error on at most `CHOOSE_ROWS`
    training rows)."""

    CHOOSE_ROWS = 2000

    def __init__(self, components: int, bits: int) -> None:
        self.components, self.bits = components, bits

    def fit(self, train: np.ndarray, pca: PCA | None = None, seed: int = 0) -> QuantisedPCA:
        k = min(self.components, *train.shape)
        if pca is None or pca.n_components_ < k:
            pca = PCA(n_components=k, random_state=seed).fit(train)
        self.mean_, self.basis_ = pca.mean_, pca.components_[:k]  # (d,), (k, d)
        rows = train[np.random.default_rng(seed).permutation(len(train))[: self.CHOOSE_ROWS]]
        z_all, z = self._project(train), self._project(rows)
        best: tuple[float, UniformCoefficientQuantiser] | None = None
        for width in RANGE_WIDTHS:
            q = UniformCoefficientQuantiser(self.bits, width).fit(z_all)
            mse = float(((self._back(q.reconstruct(q.symbols(z))) - rows) ** 2).mean())
            if best is None or mse < best[0]:
                best = (mse, q)
        assert best is not None
        self.train_mse_, self.quantiser_ = best
        return self

    def _project(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) @ self.basis_.T

    def _back(self, z: np.ndarray) -> np.ndarray:
        return z @ self.basis_ + self.mean_

    def symbols(self, x: np.ndarray) -> np.ndarray:
        """(n, components) integers 0 .. 2^bits - 1: what would be sent."""
        return self.quantiser_.symbols(self._project(x))

    def reconstruct(self, symbols: np.ndarray) -> np.ndarray:
        return self._back(self.quantiser_.reconstruct(symbols))


def best_pca_split(train: np.ndarray, total_bits: int, seed: int = 0, max_bits: int = 8) -> QuantisedPCA:
    """The quantised PCA with components x bits <= total_bits that reconstructs (a sample
    of) the training split best: fewer, finer coefficients or more, coarser ones."""
    k_max = min(total_bits, *train.shape)
    pca = PCA(n_components=k_max, random_state=seed).fit(train)
    best: QuantisedPCA | None = None
    for bits in range(1, max_bits + 1):
        k = min(total_bits // bits, k_max)
        if k < 1:
            continue
        codec = QuantisedPCA(k, bits).fit(train, pca, seed)
        if best is None or codec.train_mse_ < best.train_mse_:
            best = codec
    if best is None:
        raise ValueError(f"no PCA split fits in {total_bits} bits")
    return best


# ---------------------------------------------------------------- JPEG
def jpeg_header_bytes(data: bytes) -> int:
    """Bytes of a baseline JPEG file that are not entropy-coded data: everything up to the end
    of the start-of-scan (SOS) header, plus the 2-byte end-of-image marker."""
    pos = 2  # after SOI
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"not a JPEG marker at byte {pos}")
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 2 + length
        if marker == 0xDA:  # SOS: the entropy-coded scan follows its header
            return pos + 2
    raise ValueError("no start-of-scan marker: not a baseline JPEG")


def jpeg_roundtrip(images: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode each uint8 image (n, C, H, W), C = 1 or 3, as JPEG at `quality` (Pillow, standard
    tables, 4:2:0 chroma subsampling for colour) and decode it: decoded float images in 0..1,
    file bytes per image and header bytes per image."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"JPEG needs uint8 images (n, 1 or 3, H, W), got {images.dtype} {images.shape}")
    decoded = np.empty(images.shape, dtype=np.float32)
    sizes = np.empty(len(images), dtype=np.int64)
    headers = np.empty(len(images), dtype=np.int64)
    for i, img in enumerate(images):
        pil = Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0))
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=quality)
        data = buf.getvalue()
        sizes[i], headers[i] = len(data), jpeg_header_bytes(data)
        back = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32) / 255.0
        decoded[i] = back[None] if back.ndim == 2 else back.transpose(2, 0, 1)
    return decoded, sizes, headers


def to_uint8(images: np.ndarray) -> np.ndarray:
    """0..1 floats -> uint8 pixels, rounded (the images JPEG is given)."""
    return np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)
