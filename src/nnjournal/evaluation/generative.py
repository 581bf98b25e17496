"""How good a generator is, with numbers: an evaluation classifier for the data set (a small CNN
trained once on the training split and cached), then on generated images

- Fréchet distance between Gaussians fitted to the classifier's penultimate features of the
  generated and of the training images (FID's recipe with MNIST features: Inception features
  are meaningless for 28x28 digits);
- the classifier Inception Score exp(E_x KL(p(y|x) || p(y))): high when each image is clearly
  one class and the classes are balanced (at most the number of classes);
- class coverage and the KL of the predicted-class histogram to uniform (mode collapse);
- for conditional models, the conditional accuracy ("asked for a 7, got a 7");
- the mean distance of each image to its nearest training image (memorisation: a generator
  that copies training images scores far below real test images);
- the diversity, the mean distance between pairs of images (a generator that ignores z, one
  image per label, has full class coverage and diversity near 0).

`real_metrics` gives the same numbers for real held-out images: the ceiling a report shows
beside the generator's. Everything is deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from nnjournal.data.bundle import Split
from nnjournal.data.paths import cache_dir
from nnjournal.errors import NNJError
from nnjournal.files import atomic_write_bytes

# Bump when the classifier or its training changes, so old cache entries are not reused.
CLASSIFIER_VERSION = 1
# A class is "covered" when it gets at least this share of its uniform share of the samples
# (10 classes: 2% of the samples). Lower would count a few stray images as coverage.
COVERAGE_SHARE = 0.2


class EvalClassifier(nn.Module):
    """Two stride-2 convolutions and a 64-unit dense layer (the features) on [0, 1] images:
    about 97% on the 2,000 MNIST test images after six epochs on the 8,000 training
    images of MNIST-10k, and cheap enough to train on one CPU core in a few seconds."""

    def __init__(
        self, in_channels: int, size: tuple[int, int], n_classes: int, width: int = 16, features: int = 64
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 5, stride=2, padding=2),  # (w, H/2, W/2)
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2),  # (2w, H/4, W/4)
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * width * math.ceil(size[0] / 4) * math.ceil(size[1] / 4), features),
            nn.ReLU(),
        )
        self.head = nn.Linear(features, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features (n, features), logits (n, classes)) of [0, 1] images."""
        h = self.body(x - 0.5)  # centred inputs train faster; the 0.5 is a fixed constant
        return h, self.head(h)


@dataclass(frozen=True)
class ClassifierSettings:
    epochs: int = 6
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    width: int = 16
    features: int = 64


def _as_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> [0, 1] floats; floats are taken to be in [0, 1] already."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def data_key(train: Split, settings: ClassifierSettings) -> str:
    """A digest of the training images, labels and classifier settings: the cache key."""
    h = hashlib.sha256()
    for t in (train.x, train.y):
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    h.update(json.dumps({"version": CLASSIFIER_VERSION, **settings.__dict__}, sort_keys=True).encode())
    return h.hexdigest()[:20]


def evaluation_classifier(
    train: Split, n_classes: int, settings: ClassifierSettings = ClassifierSettings(), name: str = "data"
) -> EvalClassifier:
    """The evaluation classifier for `train`: read from `$NNJ_CACHE_DIR/eval_classifiers/`
    (safetensors, never pickled), or trained (seeded, on the CPU's default threads) and cached."""
    c, h, w = train.x.shape[1:]

    def fresh() -> EvalClassifier:
        with torch.random.fork_rng(devices=[]):  # seeded initial weights; the caller's RNG untouched
            torch.manual_seed(settings.seed)
            return EvalClassifier(c, (h, w), n_classes, settings.width, settings.features)

    path = cache_dir() / "eval_classifiers" / f"{name}-{data_key(train, settings)}.safetensors"
    if path.exists():
        try:
            model = fresh()
            model.load_state_dict(st_load(path.read_bytes()))
            return model.eval()
        except Exception:  # a damaged cache entry is retrained, never trusted
            path.unlink(missing_ok=True)
    model = fresh()
    order_gen = torch.Generator().manual_seed(settings.seed)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    x, y = train.x.cpu(), train.y.cpu()
    model.train()
    for _ in range(settings.epochs):
        for idx in torch.randperm(len(x), generator=order_gen).split(settings.batch_size):
            loss = F.cross_entropy(model(_as_unit(x[idx]))[1], y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    blob = st_save(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        metadata={"settings": json.dumps(settings.__dict__)},
    )
    atomic_write_bytes(path, blob)
    return model


@torch.inference_mode()
def classify(model: EvalClassifier, images: torch.Tensor, chunk: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, d) float64, class probabilities (n, K) float64) of uint8 or [0, 1] images."""
    feats, probs = [], []
    for s in range(0, len(images), chunk):
        f, logits = model(_as_unit(images[s : s + chunk].cpu()))
        feats.append(f.double())
        probs.append(torch.softmax(logits.double(), dim=1))
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) = tr((A S2 A)^(1/2)) with A = S1^(1/2): A S2 A is symmetric positive
    semi-definite, so its square root comes from `eigh` with real eigenvalues (clipped at 0,
    where rounding makes tiny ones negative). This avoids `sqrtm`'s complex parts and its
    failures on the singular covariances of ReLU features (dimensions that are always 0)."""
    w1, v1 = np.linalg.eigh(s1)
    a = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    m = a @ s2 @ a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(d, 0.0)  # rounding can leave -1e-12 for identical inputs


def inception_score(probs: np.ndarray) -> float:
    """exp(mean over images of KL(p(y|x) || p(y))), p(y) the mean prediction."""
    p = np.clip(probs, 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(axis=1).mean()))


def class_histogram(probs: np.ndarray) -> np.ndarray:
    """How many images the classifier assigns to each class, (K,)."""
    return np.bincount(probs.argmax(axis=1), minlength=probs.shape[1])


def coverage_and_kl(counts: np.ndarray) -> tuple[float, float]:
    """(fraction of classes with at least COVERAGE_SHARE of a uniform share, KL(histogram ||
    uniform) in nats: 0 when balanced, log K when every image is one class)."""
    k, n = len(counts), counts.sum()
    q = counts / n
    nz = q > 0
    kl = float((q[nz] * np.log(q[nz] * k)).sum())
    return float((counts >= COVERAGE_SHARE * n / k).mean()), kl


def nearest_distance(images: torch.Tensor, reference: torch.Tensor, chunk: int = 500) -> np.ndarray:
    """Euclidean distance (pixels in [0, 1]) from each image to its nearest reference image, (n,)."""
    ref = _as_unit(reference.cpu()).flatten(1)
    out = []
    for s in range(0, len(images), chunk):
        q = _as_unit(images[s : s + chunk].cpu()).flatten(1)
        out.append(torch.cdist(q, ref).min(dim=1).values)
    return torch.cat(out).double().numpy()


def diversity(images: torch.Tensor) -> float:
    """Mean Euclidean distance (pixels in [0, 1]) between image i and image i + n/2: near 0 when
    the generator gives (nearly) the same image whatever z is."""
    x = _as_unit(images.cpu()).flatten(1)
    half = len(x) // 2
    return float((x[:half] - x[half : 2 * half]).norm(dim=1).double().mean())


class GenerativeEvaluator:
    """The classifier and the training images' statistics, computed once per data set; then
    `metrics(images)` for any set of images in [0, 1] (or uint8)."""

    def __init__(
        self,
        train: Split,
        n_classes: int,
        *,
        settings: ClassifierSettings = ClassifierSettings(),
        name: str = "data",
        nn_reference: int = 4000,
    ) -> None:
        self.n_classes = n_classes
        self.classifier = evaluation_classifier(train, n_classes, settings, name)
        feats, _ = classify(self.classifier, train.x)
        self.mu, self.sigma = gaussian_stats(feats)
        # The memorisation check compares with (a fixed subset of) the training images.
        keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(settings.seed))[
            :nn_reference
        ]
        self.reference = train.x[keep.sort().values].cpu()

    def metrics(self, images: torch.Tensor, asked: torch.Tensor | None = None) -> dict[str, float]:
        """Every number for `images`; `asked`: the labels a conditional generator was asked for
        (or a real split's labels), giving `conditional_accuracy`."""
        if len(images) < 2:
            raise NNJError(f"generative metrics need at least 2 images, got {len(images)}")
        feats, probs = classify(self.classifier, images)
        mu, sigma = gaussian_stats(feats)
        counts = class_histogram(probs)
        coverage, kl = coverage_and_kl(counts)
        out = {
            "frechet_distance": frechet_distance(mu, sigma, self.mu, self.sigma),
            "inception_score": inception_score(probs),
            "coverage": coverage,
            "class_kl": kl,
            "confidence": float(probs.max(axis=1).mean()),
            "nearest_train_distance": float(nearest_distance(images, self.reference).mean()),
            "diversity": diversity(images),
        }
        if asked is not None:
            out["conditional_accuracy"] = float((probs.argmax(axis=1) == asked.cpu().numpy()).mean())
        for k, c in enumerate(counts):
            out[f"class_share_{k}"] = float(c / len(images))
        return out

    def generated_metrics(
        self, gan: Any, n: int, seed: int = 0, labels: torch.Tensor | None = None
    ) -> dict[str, float]:
        """Metrics of `n` images sampled from `gan` with noise seeded by `seed`; a conditional
        GAN is asked for `labels` (default: balanced classes)."""
        gen = torch.Generator().manual_seed(seed)
        asked = gan.check_labels(n, labels)
        images = torch.cat(
            [
                gan.sample(len(z), asked[s : s + len(z)] if asked is not None else None, z=z)
                for s, z in zip(range(0, n, 2000), gan.noise(n, gen).split(2000), strict=True)
            ]
        )
        return self.metrics(images, asked)

    def real_metrics(self, split: Split) -> dict[str, float]:
        """The ceiling: the same numbers for real held-out images (conditional accuracy is the
        classifier's own accuracy on them)."""
        return self.metrics(split.x, split.y)


def collapse_verdict(
    metrics: dict[str, float],
    real: dict[str, float] | None = None,
    *,
    max_kl: float = 0.2,
    min_diversity: float = 0.5,
) -> tuple[bool, str]:
    """(collapsed?, why). Between classes: a generator that leaves out a class or puts far more
    images in some classes than others has (partially) collapsed; `max_kl` = 0.2 nats is reached
    with a third of the images in one of 10 classes (the rest even), or with two classes missing
    entirely (log 10/8 = 0.22); real MNIST test images score 0.002. Within classes (needs `real`):
    images that differ less than `min_diversity` times as much as real images do come from a
    generator that ignores much of z — the collapse class coverage cannot see in a conditional
    GAN that draws one image per label."""
    coverage, kl = metrics["coverage"], metrics["class_kl"]
    reasons = []
    if coverage < 1.0:
        reasons.append(f"coverage {coverage:.2f} of the classes")
    if kl > max_kl:
        reasons.append(f"class KL to uniform {kl:.3f} nats (limit {max_kl:g})")
    ratio = metrics["diversity"] / real["diversity"] if real and real.get("diversity") else None
    if ratio is not None and ratio < min_diversity:
        reasons.append(f"images vary {ratio:.2f} times as much as real ones (limit {min_diversity:g})")
    if reasons:
        return True, ", ".join(reasons)
    varied = f", images vary {ratio:.2f} times as much as real ones" if ratio is not None else ""
    return False, f"all classes covered, class KL to uniform {kl:.3f} nats (limit {max_kl:g}){varied}"
