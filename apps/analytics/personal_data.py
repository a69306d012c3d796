"""What analytics holds about a person. Experiments: the exposures and conversions under their user id as the
unit. Tracking: the events sent while signed in or, before, under an anonymous id linked to them at sign-in
(their eraser also removes what experiments hold under those anonymous ids). Nothing here cascades with the
user row (a unit id is text, not a foreign key), so the eraser deletes it."""

from typing import Any

from apps.analytics import selectors, services
from apps.users.models import User


def _unit_ids(user: User) -> list[str]:
    return [str(user.pk)]


def export(user: User) -> dict[str, Any]:
    return selectors.units_history(unit_ids=_unit_ids(user))


def erase(user: User) -> None:
    services.experiment_data_erase(unit_ids=_unit_ids(user))


def export_tracking(user: User) -> list[dict[str, Any]]:
    return selectors.tracked_events_export(user_id=user.pk)


def erase_tracking(user: User) -> None:
    """The person's tracked events and, through the anonymous ids linked to them, their anonymous history."""
    services.tracking_data_erase(user_id=user.pk)
