"""Recommendation tasks, on the `recommendations` queue (planner/celery.py routes this module there)."""

import uuid

import structlog
from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from apps.recommendations.training import train

logger = structlog.get_logger(__name__)

TIME_LIMIT_SECONDS = 30 * 60  # the recommendations worker's limit (docs/architecture.md)
LOCK_KEY = "recommendations:training"
# Longer than a run may last, so a run killed mid-way (worker lost) frees the lock by itself soon after.
LOCK_SECONDS = TIME_LIMIT_SECONDS + 60


@shared_task(
    name="apps.recommendations.tasks.train_recommendations",
    time_limit=TIME_LIMIT_SECONDS,
    soft_time_limit=TIME_LIMIT_SECONDS - 60,
)
def train_recommendations() -> str | None:
    """Trains, evaluates and maybe promotes a model; the version made, or None when another training was running
    (two never overlap: the cache lock is taken with an atomic add, and the second run returns at once)."""
    token = uuid.uuid4().hex
    if not cache.add(LOCK_KEY, token, timeout=LOCK_SECONDS):
        logger.info("recommendation_training_skipped", reason="already_running")
        return None
    try:
        return train(now=timezone.now()).version
    finally:
        if cache.get(LOCK_KEY) == token:  # not a lock that expired and was taken by a later run
            cache.delete(LOCK_KEY)
