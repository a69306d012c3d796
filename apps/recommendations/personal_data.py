"""What recommendations hold about a person: their feedback on listed events. (Models are trained on tracked
interactions, which analytics exports and erases; a model keeps no per-person rows: people are folded in from
their history when a list is served.)"""

from typing import Any

from apps.recommendations import selectors, services
from apps.users.models import User


def export(user: User) -> list[dict[str, Any]]:
    return selectors.feedback_export(user_id=user.pk)


def erase(user: User) -> None:
    services.feedback_erase(user=user)
