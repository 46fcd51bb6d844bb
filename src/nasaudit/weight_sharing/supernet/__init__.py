"""Weight-sharing supernets: modules, path sampling, SPOS training, the supernet evaluator and ranking."""

from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
from nasaudit.weight_sharing.supernet.modules import (
    ChoiceOp,
    DartsSupernet,
    MixedOp,
    NB101Supernet,
    NB201Supernet,
    Supernet,
    build_supernet,
)
from nasaudit.weight_sharing.supernet.ranking import (
    RankingReport,
    RankingSet,
    ground_truth_ceiling,
    rank_disorder,
    ranking_report,
    select_ranking_set,
    space_truth,
    weight_sharing_comparison,
)
from nasaudit.weight_sharing.supernet.sampling import PathSampler
from nasaudit.weight_sharing.supernet.training import SupernetConfig, SupernetRun, load_run, train_supernet

__all__ = [
    "ChoiceOp",
    "DartsSupernet",
    "MixedOp",
    "NB101Supernet",
    "NB201Supernet",
    "PathSampler",
    "RankingReport",
    "RankingSet",
    "Supernet",
    "SupernetConfig",
    "SupernetEvaluator",
    "SupernetRun",
    "build_supernet",
    "ground_truth_ceiling",
    "load_run",
    "rank_disorder",
    "ranking_report",
    "select_ranking_set",
    "space_truth",
    "train_supernet",
    "weight_sharing_comparison",
]
