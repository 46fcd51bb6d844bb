"""Query-based search strategies, their trajectories, and the fair comparison protocol."""

from nasaudit.search.bananas import Bananas
from nasaudit.search.base import SearchResult, Strategy
from nasaudit.search.compare import Comparison, run_comparison, summarise
from nasaudit.search.evolution import RegularizedEvolution
from nasaudit.search.local_search import LocalSearch
from nasaudit.search.random_search import RandomSearch
from nasaudit.search.registry import STRATEGIES, get_strategy, list_strategies

__all__ = [
    "STRATEGIES",
    "Bananas",
    "Comparison",
    "LocalSearch",
    "RandomSearch",
    "RegularizedEvolution",
    "SearchResult",
    "Strategy",
    "get_strategy",
    "list_strategies",
    "run_comparison",
    "summarise",
]
