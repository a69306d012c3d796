"""What itineraries hold about a person: the plans made for them, in the account export. Deleting the account
deletes them (they cascade with the user)."""

from typing import Any

from apps.itineraries.models import Itinerary
from apps.users.models import User


def export(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": itinerary.pk,
            "status": itinerary.status,
            "created_at": itinerary.created_at.isoformat(),
            "request": itinerary.request,
            "stops": [
                {
                    "event_id": stop.event_id,
                    "day": stop.day.isoformat(),
                    "start": stop.start.isoformat(),
                    "end": stop.end.isoformat(),
                    "pinned": stop.pinned,
                    "plan_id": stop.plan_id,
                }
                for stop in itinerary.stops.all()
            ],
        }
        for itinerary in Itinerary.objects.filter(owner=user).prefetch_related("stops")
    ]


def erase(user: User) -> None:
    Itinerary.objects.filter(owner=user).delete()
