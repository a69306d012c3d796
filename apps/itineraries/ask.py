"""What a person asks the planner for, once validated: the window, the days' hours, where tours start, how they
travel, their pace and budget, and the events they want in or out. Stored with the itinerary (as JSON) so that a
replan asks again with the same."""

from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from typing import Any

from apps.core.geo import LatLon

# Pace: the slack between two stops (minutes, on top of travel) and how many stops a day holds at most.
PACES = {"relaxed": (30.0, 2), "balanced": (15.0, 4), "packed": (5.0, 6)}
DEFAULT_DAY_START = time(10, 0)
DEFAULT_DAY_END = time(23, 0)


@dataclass(frozen=True)
class Ask:
    start: datetime  # the window, UTC
    end: datetime
    timezone: str  # the person's zone: days and day hours are local
    origin: LatLon  # tours start and end here (home or a chosen point)
    origin_is_home: bool
    travel_mode: str
    pace: str
    budget: float | None
    currency: str
    day_start: time = DEFAULT_DAY_START
    day_end: time = DEFAULT_DAY_END
    must_include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    # Stops kept where they are by a replan or a swap: event id → (start, end) of the visit. Not stored.
    pinned: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)

    @property
    def gap_minutes(self) -> float:
        return PACES[self.pace][0]

    @property
    def max_stops_per_day(self) -> int:
        return PACES[self.pace][1]

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values.update(
            start=self.start.isoformat(),
            end=self.end.isoformat(),
            origin=[self.origin.lat, self.origin.lon],
            day_start=self.day_start.isoformat("minutes"),
            day_end=self.day_end.isoformat("minutes"),
            must_include=list(self.must_include),
            exclude=list(self.exclude),
        )
        values.pop("pinned")
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> "Ask":
        return cls(
            start=datetime.fromisoformat(values["start"]),
            end=datetime.fromisoformat(values["end"]),
            timezone=values["timezone"],
            origin=LatLon(*values["origin"]),
            origin_is_home=values["origin_is_home"],
            travel_mode=values["travel_mode"],
            pace=values["pace"],
            budget=values["budget"],
            currency=values["currency"],
            day_start=time.fromisoformat(values["day_start"]),
            day_end=time.fromisoformat(values["day_end"]),
            must_include=tuple(values["must_include"]),
            exclude=tuple(values["exclude"]),
        )
