"""The one mapping of a plan's fields: between the Plan row, PlanData (what the services take and iCalendar
carries) and a plan as people write it (the API's PlanInput, the plan form), which gives one `start` and one
`end` that are dates when all-day and wall-clock times otherwise; and what a catalogue event gives a plan.
A field added to plans is added here once.
"""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apps.calendars.ical import PlanData
from apps.calendars.models import Plan, PlanStatus
from apps.events.models import Event, EventStatus

# A catalogue event that does not say how long it lasts is taken to last this long.
EVENT_DURATION = timedelta(hours=2)

# What a person writes about a plan besides when it is.
WRITTEN = ("title", "notes", "timezone", "all_day", "rrule", "rdates", "exdates", "location", "lat", "lon", "status")
# Held under the same names by the row and by PlanData.
SHARED = (*WRITTEN, "start_local", "end_local", "start_date", "end_date")


def shared(source: Plan | PlanData) -> dict[str, Any]:
    """The SHARED fields of a row or of PlanData, to build the other from (lists copied, never shared)."""
    return {name: _copy(getattr(source, name)) for name in SHARED}


def written(plan: Plan) -> dict[str, Any]:
    """The stored plan as it would be written: WRITTEN with `start` and `end`."""
    values = {name: _copy(getattr(plan, name)) for name in WRITTEN}
    values["start"] = plan.start_date if plan.all_day else plan.start_local
    values["end"] = plan.end_date if plan.all_day else plan.end_local
    return values


def plan_data(*, start: date, end: date, uid: str = "", sequence: int = 0, **values: Any) -> PlanData:
    """PlanData from a plan as written: `values` are WRITTEN fields (PlanData's defaults fill the rest);
    `start` and `end` are dates when all-day (the end exclusive), otherwise naive wall-clock times."""
    unknown = set(values) - set(WRITTEN)
    if unknown:
        raise TypeError(f"Not fields a plan is written with: {', '.join(sorted(unknown))}")
    data = PlanData(uid=uid, sequence=sequence, **{name: _copy(value) for name, value in values.items()})
    if data.all_day:
        data.start_date, data.end_date = start, end
    elif isinstance(start, datetime) and isinstance(end, datetime):
        data.start_local, data.end_local = start, end
    else:
        raise TypeError("A plan that is not all-day starts and ends at a time, not on a date.")
    return data


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def event_plan_data(event: Event, *, uid: str, visit: tuple[datetime, datetime] | None = None) -> PlanData:
    """A catalogue event as plan data: at its venue, on its own zone's clock, cancelled when it is. `visit` is the
    part of a long event (a market, an exhibition) the person goes to, when they do not stay for all of it."""
    zone, venue = ZoneInfo(event.timezone), event.venue
    first, last = visit or (event.start_utc, event.end_utc or event.start_utc + EVENT_DURATION)
    start, end = first.astimezone(zone).replace(tzinfo=None), last.astimezone(zone).replace(tzinfo=None)
    return plan_data(
        start=start,
        end=end,
        uid=uid,
        title=event.title,
        notes=event.url,
        timezone=event.timezone,
        location=", ".join(part for part in (venue.name, venue.address) if part) if venue else "",
        lat=event.lat,
        lon=event.lon,
        status=PlanStatus.CANCELLED if event.status == EventStatus.CANCELLED else PlanStatus.CONFIRMED,
    )
