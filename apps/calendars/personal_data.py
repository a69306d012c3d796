"""What calendars hold about a person, for the account export (deletion cascades with the user)."""

import dataclasses
from typing import Any

from apps.calendars import selectors
from apps.users.models import User


def export(user: User) -> list[dict[str, Any]]:
    return [
        {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "color": calendar.color,
            "is_default": calendar.is_default,
            "plans": [
                dataclasses.asdict(selectors.plan_data_of(plan)) for plan in selectors.plans_of(calendar=calendar)
            ],
            "subscriptions": list(calendar.subscriptions.values_list("url", flat=True)),
        }
        for calendar in selectors.calendars_of(owner=user)
    ]
