"""Time zones in iCalendar beyond a name: a custom VTIMEZONE matched to the IANA zone it describes, and the
VTIMEZONE written for an IANA zone (from the zone database, observance by observance)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

import icalendar
from icalendar.prop import vInline

from apps.core.icalendar import UTC_NAMES

EXPORT_UTC_TZID = "Etc/UTC"  # icalendar writes TZID=UTC as a bare (floating) time; Etc/UTC survives
VTIMEZONE_LAST_YEAR = 2037


def export_zone(name: str) -> str:
    """The TZID a plan's zone is written with."""
    return EXPORT_UTC_TZID if name in UTC_NAMES else name


def custom_zone(component: icalendar.Component) -> tzinfo | None:
    """The zone a VTIMEZONE defines, or None when it cannot be read."""
    try:
        if not isinstance(component, icalendar.Timezone):
            return None
        zone: tzinfo = component.to_tz(lookup_tzid=False)
        return zone
    except Exception:  # noqa: BLE001 - a broken VTIMEZONE: its times are read as floating
        return None


@lru_cache(maxsize=1)
def _all_zones() -> tuple[tuple[str, zoneinfo.ZoneInfo], ...]:
    """Every IANA zone, loaded once per process (ZoneInfo only keeps a few strongly; reloading costs ~1 ms)."""
    names = sorted(zoneinfo.available_timezones())
    # Prefer Region/City names over aliases like "posix/..." or "Etc/GMT+1".
    names.sort(key=lambda n: (n.startswith(("posix", "right", "Etc", "SystemV", "US/")), "/" not in n, n))
    return tuple((name, zoneinfo.ZoneInfo(name)) for name in names)


def matching_zone(custom: tzinfo, year: int, hints: tuple[str, ...]) -> str | None:
    """The IANA zone whose UTC offsets equal the custom zone's through `year` and the next: the same offset every
    15 days, and the same offset a minute before and after each of the IANA zone's changes. (A VTIMEZONE read
    by dateutil is slow, ~0.5 ms per conversion, so it is sampled rather than walked.)"""
    year = max(1971, min(year, 2100))
    first = datetime(year, 1, 1, tzinfo=UTC)
    samples = [first + timedelta(days=d, hours=12) for d in range(0, 730, 15)]
    try:
        wanted = [moment.astimezone(custom).utcoffset() for moment in samples]
    except Exception:  # noqa: BLE001 - a custom zone that cannot convert is not matched
        return None
    candidates = [(name, zoneinfo.ZoneInfo(name)) for name in hints]
    for name, zone in (*candidates, *_all_zones()):
        if [moment.astimezone(zone).utcoffset() for moment in samples] != wanted:
            continue
        changes = [change[0] for change in _transitions(name, year, year + 1)[3]]
        around = [moment + delta for moment in changes for delta in (timedelta(minutes=-1), timedelta(minutes=1))]
        try:
            if all(m.astimezone(custom).utcoffset() == m.astimezone(zone).utcoffset() for m in around):
                return "UTC" if name in UTC_NAMES else name
        except Exception:  # noqa: BLE001 - as above
            return None
    return None


def vtimezone(name: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """A VTIMEZONE for an IANA zone from `first_year` through `last_year`, one observance per kind of change
    (its DTSTART and RDATEs are local times in the offset in force before each change, as RFC 5545 says)."""
    start_offset, start_name, start_dst, transitions = _transitions(name, first_year, last_year)
    timezone = icalendar.Timezone()
    timezone.add("tzid", name)
    timezone.add("x-lic-location", name)
    first = icalendar.TimezoneDaylight() if start_dst else icalendar.TimezoneStandard()
    first.add("dtstart", vInline(f"{first_year:04d}0101T000000"))
    first.add("tzoffsetfrom", start_offset)
    first.add("tzoffsetto", start_offset)
    first.add("tzname", start_name)
    timezone.add_component(first)
    groups: dict[tuple[bool, timedelta, timedelta, str], list[datetime]] = {}
    for when, before, after, abbreviation, dst in transitions:
        groups.setdefault((dst, before, after, abbreviation), []).append((when + before).replace(tzinfo=None))
    for (dst, before, after, abbreviation), moments in sorted(groups.items(), key=lambda g: g[1][0]):
        observance = icalendar.TimezoneDaylight() if dst else icalendar.TimezoneStandard()
        observance.add("dtstart", vInline(moments[0].strftime("%Y%m%dT%H%M%S")))
        if len(moments) > 1:
            observance.add("rdate", vInline(",".join(m.strftime("%Y%m%dT%H%M%S") for m in moments[1:])))
        observance.add("tzoffsetfrom", before)
        observance.add("tzoffsetto", after)
        observance.add("tzname", abbreviation)
        timezone.add_component(observance)
    return timezone


_Transition = tuple[datetime, timedelta, timedelta, str, bool]


@lru_cache(maxsize=256)
def _transitions(name: str, first_year: int, last_year: int) -> tuple[timedelta, str, bool, tuple[_Transition, ...]]:
    """The zone's state at the start of `first_year` and every change until the end of `last_year`."""
    zone = zoneinfo.ZoneInfo(name)

    def state(moment: datetime) -> tuple[timedelta, str, bool]:
        local = moment.astimezone(zone)
        return local.utcoffset() or timedelta(0), local.tzname() or name, bool(local.dst())

    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    current = state(moment)
    initial = current
    changes: list[_Transition] = []
    step = timedelta(days=1)
    while moment < end:
        following = moment + step
        after = state(following)
        if after != current:
            low, high = moment, following  # state(low) == current, state(high) != current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if state(middle) == current:
                    low = middle
                else:
                    high = middle
            change = state(high)
            if change[0] != current[0] or change[1] != current[1]:
                changes.append((high.replace(microsecond=0), current[0], change[0], change[1], change[2]))
            current = change
            moment = high
            continue
        moment = following
    return initial[0], initial[1], initial[2], tuple(changes)
