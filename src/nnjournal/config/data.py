"""The `[data]` section: one config class per loader, a union discriminated by `name`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from nnjournal.config.base import Strict


class SplitConfig(Strict):
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0)


class XorData(SplitConfig):
    """The four XOR points (train and test) plus a noisy cloud around them (validation)."""

    name: Literal["xor"] = "xor"
    noise: float = Field(0.1, ge=0.0, description="std of the validation cloud around each corner")
    cloud_size: int = Field(50, ge=1, description="validation points per corner")


class DigitsData(SplitConfig):
    """scikit-learn's 1,797 real 8x8 handwritten digits."""

    name: Literal["digits"] = "digits"
    as_images: bool = Field(False, description="1x8x8 images instead of 64-long vectors")


class Mnist1dData(SplitConfig):
    """MNIST-1D generated locally by the `mnist1d` package (4,000 train / 1,000 test)."""

    name: Literal["mnist1d"] = "mnist1d"
    num_samples: int = Field(5000, ge=100)
    train_split: float = Field(0.8, gt=0.0, lt=1.0)
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    shuffle_time: bool = Field(
        False, description="permute the 40 time steps (one fixed permutation): the control for order"
    )


class ArraysData(SplitConfig):
    """Your own arrays: an `.npz` file holding `x` (n, ...) and `y` (n,) (never unpickled)."""

    name: Literal["arrays"] = "arrays"
    path: Path
    standardize: bool = True


class CsvData(SplitConfig):
    """Any CSV file with a header row: column kinds are inferred (numeric, boolean-like,
    categorical), missing values imputed, categoricals one-hot encoded and numerics
    standardized, all fitted on the training split only and saved with the model."""

    name: Literal["csv"] = "csv"
    path: Path | None = Field(None, description="the CSV file; default: shared_file under NNJ_DATA_DIR")
    shared_file: str | None = Field(None, description="a file under $NNJ_DATA_DIR used when path is unset")
    target: str | None = Field(None, description="the column to predict")
    positive_label: str | None = Field(None, description="binary targets: the class counted as positive")
    id_columns: list[str] = Field(default_factory=list, description="identifiers: never used as features")
    drop: list[str] = Field(default_factory=list, description="other columns to leave out")
    numeric: list[str] = Field(default_factory=list, description="columns that must hold numbers")
    categorical: list[str] = Field(default_factory=list, description="columns to one-hot encode")
    delimiter: str | None = Field(None, description="field separator; None = guess from the file")
    missing_values: list[str] = Field(
        default_factory=list,
        description="more words that mean a blank cell (e.g. '-', 'unknown'), besides '', NA, N/A, null, "
        "None, ?, #N/A and Excel's error values; matched whole, ignoring case",
    )
    max_categories: int = Field(30, ge=2, description="rarer categories are merged into '(other)'")
    missing_indicators: bool | Literal["numbers"] = Field(
        "numbers",
        description='a 0/1 gap column per feature with gaps: "numbers" (numeric ones), true (every kind), false',
    )
    oversample: bool = Field(False, description="repeat minority-class training rows up to balance")
    imputer: Literal["median", "iterative", "autoencoder"] = Field(
        "median",
        description="what fills blanks: the training median / most frequent value (a category's blanks "
        "its own category), scikit-learn's IterativeImputer, or a masked denoising autoencoder "
        "(data/imputation.py); fitted on the training rows",
    )

    @field_validator("target", "positive_label", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        # `--set data.positive_label=1` reads as the TOML integer 1; a CSV's labels and headers
        # are text, so a whole number means its digits (a float would be ambiguous: 1.0 or 1?).
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("target", "positive_label")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        # Headers and cells are read trimmed, so `data.target = " Churn"` names the column Churn.
        return (value.strip() or None) if value is not None else None

    @field_validator("id_columns", "drop", "numeric", "categorical")
    @classmethod
    def _names_trimmed(cls, names: list[str]) -> list[str]:
        return [n.strip() for n in names]

    @field_validator("missing_values", mode="before")
    @classmethod
    def _words_as_text(cls, value: Any) -> Any:
        # `--set data.missing_values=-` is one word; `[-999, "n.a."]` holds a number (a sentinel).
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list):
            value = [str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("missing_values")
    @classmethod
    def _words_given(cls, words: list[str]) -> list[str]:
        words = [w.strip() for w in words]
        if "" in words:
            raise ValueError("an empty word: blank cells are missing already; list the words that mean a blank")
        return words


class IdxImagesData(SplitConfig):
    """MNIST, Fashion-MNIST or Kuzushiji-MNIST: 28x28 grey images in the IDX format (.gz or
    not), from `path` (a folder), else `$NNJ_DATA_DIR/<name>`, else the cache, else downloaded
    from the canonical mirror with checksum verification."""

    name: Literal["mnist", "fashion-mnist", "kmnist"] = "mnist"
    path: Path | None = Field(None, description="folder holding the IDX files")
    download: bool = Field(True, description="download missing files into the cache")
    mirror: str | None = Field(None, description="base URL to download from (default: the canonical one)")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="of the training split")
    test_fraction: float = Field(
        0.2, ge=0.0, lt=1.0, description="used only when the official test split must be split itself"
    )
    max_train: int | None = Field(
        None, ge=10, description="keep a seeded stratified subset of training images"
    )


class Cifar10Data(Strict):
    """CIFAR-10 (32x32 colour photos, 10 classes): the canonical python batches (a folder or
    the .tar.gz, read with a restricted unpickler) or an .npz with x_train/y_train/x_test/y_test."""

    name: Literal["cifar10"] = "cifar10"
    path: Path | None = Field(None, description="cifar-10-batches-py folder, its .tar.gz, or an .npz")
    download: bool = Field(True, description="download the canonical archive into the cache if missing")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="of the training split")
    max_train: int | None = Field(
        None, ge=10, description="keep a seeded stratified subset of training images"
    )


class ImageFolderData(SplitConfig):
    """Photos in class sub-folders (`root/<class>/*.jpg`), or `root/train/<class>` and
    `root/test/<class>` for a given test split; resized to `size` x `size`."""

    name: Literal["image-folder"] = "image-folder"
    path: Path | None = None
    size: int = Field(64, ge=4, le=1024, description="side of the square images the model sees")
    resize: Literal["stretch", "crop"] = Field(
        "stretch", description="stretch the whole photo, or crop the centre square first"
    )
    color: Literal["rgb", "grayscale"] = "rgb"
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    classes: bool = Field(
        True,
        description="false: the photos are not sorted into class folders (recipes that ignore labels: "
        "colorization, super-resolution, watermark removal); every image under data.path, one class",
    )


# ---------------------------------------------------------------------------- recurrent networks
# (issue 12) Text as characters, a time series as windows, generated sequence tasks. Images and
# MNIST-1D need no section of their own: `model.name = "rnn"` reads a (1, H, W) image row by
# row and a (T,) signal one value per step.


class TextData(Strict):
    """A UTF-8 text as characters, cut into `streams` contiguous streams and windows of `bptt`
    characters for truncated BPTT; train / val / test are contiguous chunks in that order."""

    name: Literal["text"] = "text"
    path: Path | None = Field(None, description="the text file; default: shared_file under NNJ_DATA_DIR")
    shared_file: str = "text/tinyshakespeare.txt"
    max_chars: int | None = Field(None, ge=1000, description="only the first characters (quick runs)")
    streams: int = Field(64, ge=1, description="parallel streams = the batch size (training.batch_size)")
    bptt: int = Field(100, ge=2, description="characters per window: how far gradients flow back")
    eval_streams: int | None = Field(None, ge=1, description="streams of val/test (default: streams)")
    val_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.05, gt=0.0, lt=1.0)


class TimeseriesData(Strict):
    """A CSV of (date, value) as windows of `window` past values -> the next `horizon`, split by
    time: the last `len - train_size` values are the test part; scaling is fitted on the past."""

    name: Literal["timeseries"] = "timeseries"
    path: Path | None = Field(None, description="the CSV; default: shared_file under NNJ_DATA_DIR")
    shared_file: str = "timeseries/airline-passengers.csv"
    date_column: str | None = None
    value_column: str | None = None
    delimiter: str | None = Field(None, description="field separator; None = guess from the file")
    window: int = Field(12, ge=1)
    horizon: int = Field(1, ge=1)
    train_size: int = Field(96, ge=2, description="values before the test part (validation included)")
    val_size: int = Field(0, ge=0, description="the last values of the training part, for validation")
    log: bool = Field(False, description="model the log of the series (multiplicative seasonality)")
    seasonal_lag: int = Field(0, ge=0, description="difference with the value this many steps earlier")
    scaling: Literal["standard", "minmax", "none"] = "standard"


class GeneratedSequences(Strict):
    """Sizes of a generated (seeded) sequence data set."""

    n_train: int = Field(8000, ge=10)
    n_val: int = Field(1000, ge=0)
    n_test: int = Field(1000, ge=10)


class DatesData(GeneratedSequences):
    """Human-written dates ("3 March 2021") -> ISO 8601; test dates never appear in training."""

    name: Literal["dates"] = "dates"


class AddingData(GeneratedSequences):
    """The adding problem: the sum of the two marked numbers of a `length`-step sequence."""

    name: Literal["adding"] = "adding"
    length: int = Field(50, ge=2)


class CopyData(GeneratedSequences):
    """The copy task: repeat `memory` symbols after a blank `delay` (one label per step)."""

    name: Literal["copy"] = "copy"
    delay: int = Field(20, ge=0)
    memory: int = Field(5, ge=1)
    n_symbols: int = Field(8, ge=2)


SequenceDataConfig = TextData | TimeseriesData | DatesData | AddingData | CopyData
# ---------------------------------------------------------------------------- end of recurrent


# ---------------------------------------------------------------- segmentation (issue 18)
class DigitScenesData(Strict):
    """Generated segmentation scenes (data/segmentation_scenes.py): MNIST-10k digits pasted at
    random places and sizes on a cluttered canvas (smooth background, pen strokes, fragments of
    other digits); the mask is exactly the pasted digits' ink above `ink_threshold`. Test scenes
    are built from digits no training or validation scene uses."""

    name: Literal["digit-scenes"] = "digit-scenes"
    path: Path | None = Field(None, description="folder holding the MNIST IDX files (default $NNJ_DATA_DIR/mnist)")
    download: bool = Field(True, description="download MNIST into the cache when no folder holds it")
    canvas: int = Field(48, ge=8, le=256, description="side of the square scene in pixels")
    min_digits: int = Field(1, ge=1, description="digits per scene: at least")
    max_digits: int = Field(3, ge=1, description="digits per scene: at most")
    min_size: int = Field(20, ge=8, description="side in pixels of a pasted 28x28 digit image: at least")
    max_size: int = Field(32, ge=8, description="side in pixels of a pasted 28x28 digit image: at most")
    strokes: int = Field(4, ge=0, description="random pen strokes of clutter per scene: at most")
    fragments: int = Field(3, ge=0, description="pieces of other digits pasted as clutter per scene: at most")
    background: float = Field(0.4, ge=0.0, le=1.0, description="amplitude of the smooth background and gradient")
    ink_threshold: float = Field(0.5, gt=0.0, lt=1.0, description="a digit pixel is in the mask when its ink is above this")
    semantic: bool = Field(False, description="11 classes (0 = background, digit d = d + 1) instead of digit / background")
    n_train: int = Field(3000, ge=10, description="training scenes")
    n_val: int = Field(500, ge=0, description="validation scenes (from digits kept apart from the training ones)")
    n_test: int = Field(1000, ge=10, description="test scenes (from the held-out digits)")
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="of the MNIST digits kept for test scenes")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="of the remaining digits kept for validation scenes")

    @model_validator(mode="after")
    def _digits_fit(self) -> DigitScenesData:
        if self.min_size > self.max_size:
            raise ValueError(
                f"data.min_size = {self.min_size} is above data.max_size = {self.max_size}; "
                "make min_size <= max_size"
            )
        if self.max_size > self.canvas:
            raise ValueError(
                f"data.max_size = {self.max_size} is larger than data.canvas = {self.canvas}: a digit must fit "
                "on the canvas; raise data.canvas or lower data.max_size"
            )
        if self.min_digits > self.max_digits:
            raise ValueError(
                f"data.min_digits = {self.min_digits} is above data.max_digits = {self.max_digits}; "
                "make min_digits <= max_digits"
            )
        if self.n_val > 0 and self.val_fraction == 0:
            raise ValueError("data.n_val > 0 needs digits of its own: set data.val_fraction > 0, or data.n_val = 0")
        return self


DataConfig = Annotated[
    XorData | DigitsData | Mnist1dData | ArraysData | CsvData | IdxImagesData | Cifar10Data | ImageFolderData
    | SequenceDataConfig
    | DigitScenesData,  # segmentation (issue 18)
    Field(discriminator="name"),
]
