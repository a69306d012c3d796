"""The promoted model, as each process serves it.

A process keeps the model it loaded and its version. At most every CHECK_SECONDS it asks which version is current
(one indexed query) and loads the new artefact when that changed, so a promotion reaches every process within
seconds without a restart. A version whose files are missing or corrupt is logged and served as None (the
caller falls back to the content or popularity ranker) and not tried again for RETRY_SECONDS. Thread-safe: one
lock, held while loading, so concurrent requests never load the same model twice.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from apps.recommendations import artefacts, selectors
from apps.recommendations.rankers.learned import ScoringModel

logger = structlog.get_logger(__name__)

CHECK_SECONDS = 5.0
RETRY_SECONDS = 60.0


@dataclass
class _State:
    checked: float = -math.inf
    version: str | None = None
    model: ScoringModel | None = None
    failed: dict[str, float] = field(default_factory=dict)  # version: when its artefact last failed to load


_lock = threading.Lock()
_state = _State()
# The clock the intervals are measured on; tests replace it (time-machine does not move the monotonic clock).
clock: Callable[[], float] = time.monotonic


def current_model() -> ScoringModel | None:
    """The promoted model, or None when there is none or it cannot be loaded."""
    with _lock:
        now = clock()
        if now - _state.checked < CHECK_SECONDS:
            return _state.model
        _state.checked = now
        row = selectors.current_model_version()
        if row is None:
            _state.version, _state.model = None, None
            return None
        if row.version == _state.version and _state.model is not None:
            return _state.model
        _state.version, _state.model = row.version, None
        failed_at = _state.failed.get(row.version)
        if failed_at is not None and now - failed_at < RETRY_SECONDS:
            return None
        try:
            _state.model = artefacts.load(row.artefact or row.version)
        except artefacts.ArtefactError as error:
            _state.failed[row.version] = now
            logger.warning("recommendation_model_unavailable", version=row.version, error=str(error))
            return None
        _state.failed.pop(row.version, None)
        logger.info("recommendation_model_loaded", version=row.version)
        return _state.model


def forget() -> None:
    """The next call asks again and reloads (tests; and a shell after replacing an artefact by hand)."""
    with _lock:
        _state.checked, _state.version, _state.model = -math.inf, None, None
        _state.failed.clear()
