"""The rankers; importing the package registers every one (see registry)."""

from apps.recommendations.rankers import content, learned, popularity  # noqa: F401 - each registers itself
from apps.recommendations.rankers.registry import Ranker, Ranking, get, names, register

__all__ = ["Ranker", "Ranking", "get", "names", "register"]
