"""What experiments hold about a person: the exposures and conversions under their user id as the unit.
Anonymous ids cannot be tied to an account, so only the user id is looked up. Nothing here cascades with the
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
