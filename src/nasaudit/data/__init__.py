"""Datasets (embedded digits, CIFAR-10/100, ImageNet16-120, SVHN) and tensor-side augmentation."""

from nasaudit.data.augment import Augmentation
from nasaudit.data.loading import DATASET_NAMES, load_dataset
from nasaudit.data.splits import DatasetSplits, Split

__all__ = ["DATASET_NAMES", "Augmentation", "DatasetSplits", "Split", "load_dataset"]
