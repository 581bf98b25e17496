"""A recipe as typed, validated configuration: `RunConfig` = data + model + task + training
+ evaluation + journal, one module per section.

Recipes are TOML. Unknown keys are errors reported with their dotted path, and
`--set a.b=value` overrides are type-checked by the same models.
"""

from nnjournal.config.base import Strict
from nnjournal.config.data import (  # recurrent
    AddingData,
    ArraysData,
    Cifar10Data,
    CopyData,
    CsvData,
    DataConfig,
    DatesData,
    DigitsData,
    IdxImagesData,
    ImageFolderData,
    Mnist1dData,
    SplitConfig,
    TextData,
    TimeseriesData,
    XorData,
)
from nnjournal.config.evaluation import (
    EvaluationConfig,
    JournalConfig,
    StudyConfig,
    ThresholdConfig,
)
from nnjournal.config.model import (  # recurrent
    AutoencoderModel,
    CharLMModel,
    CNNModel,
    ConvBlock,
    ForecasterModel,
    LeNet5Model,
    MLPModel,
    ModelConfig,
    PerceptronModel,
    ResNetSmallModel,
    RNNModel,
    Seq2SeqModel,
    VAEModel,
    VGGSmallModel,
)
from nnjournal.config.overrides import apply_overrides, deep_merge, parse_override
from nnjournal.config.run import RunConfig, format_validation_error, validate_config
from nnjournal.config.search import Dimension, SearchConfig
from nnjournal.config.task import (
    TASK_SECTIONS,
    ClassificationTask,
    ReconstructionTask,
    RegressionTask,
    TaskSection,
    VAETaskSection,
)
from nnjournal.config.toml_io import read_toml, to_toml
from nnjournal.config.training import (
    AugmentConfig,
    ClipConfig,
    EarlyStoppingConfig,
    EnsembleConfig,
    OptimizerConfig,
    PenaltyConfig,
    ScheduleConfig,
    TrainingConfig,
)

__all__ = [
    "AddingData", "CharLMModel", "CopyData", "DatesData", "ForecasterModel", "RNNModel", "Seq2SeqModel",
    "TextData", "TimeseriesData",
    "TASK_SECTIONS",
    "ArraysData",
    "AugmentConfig",
    "AutoencoderModel",
    "CNNModel",
    "Cifar10Data",
    "ClassificationTask",
    "ClipConfig",
    "ConvBlock",
    "CsvData",
    "DataConfig",
    "Dimension",
    "DigitsData",
    "EarlyStoppingConfig",
    "EnsembleConfig",
    "EvaluationConfig",
    "IdxImagesData",
    "ImageFolderData",
    "JournalConfig",
    "LeNet5Model",
    "MLPModel",
    "Mnist1dData",
    "ModelConfig",
    "OptimizerConfig",
    "PenaltyConfig",
    "PerceptronModel",
    "ReconstructionTask",
    "RegressionTask",
    "ResNetSmallModel",
    "RunConfig",
    "ScheduleConfig",
    "SearchConfig",
    "SplitConfig",
    "Strict",
    "StudyConfig",
    "TaskSection",
    "ThresholdConfig",
    "TrainingConfig",
    "VAEModel",
    "VAETaskSection",
    "VGGSmallModel",
    "XorData",
    "apply_overrides",
    "deep_merge",
    "format_validation_error",
    "parse_override",
    "read_toml",
    "to_toml",
    "validate_config",
]
