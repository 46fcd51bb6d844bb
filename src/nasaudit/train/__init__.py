"""Training: one loop, the papers' named protocols, per-epoch checkpoints, results as plain data."""

from nasaudit.train.arch import train_arch
from nasaudit.train.evaluator import TrainingEvaluator
from nasaudit.train.loop import train
from nasaudit.train.protocols import PROTOCOLS, TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord, TrainResult

__all__ = [
    "PROTOCOLS",
    "EpochRecord",
    "TrainProtocol",
    "TrainResult",
    "TrainingEvaluator",
    "get_protocol",
    "train",
    "train_arch",
]
