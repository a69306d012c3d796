"""iCalendar (RFC 5545) in and out: VEVENTs to plan data (`reader`), and plans to a feed (`writer`).

`shapes` holds the data both sides use, `structure` the line-by-line syntax check that locates a broken file,
`properties` single property values, and `zones` custom VTIMEZONEs in and VTIMEZONEs out. Reading what the
writer wrote gives the same plan data back.
"""

from apps.calendars.ical.reader import parse_calendar
from apps.calendars.ical.shapes import IcsParseError, OverrideData, ParsedCalendar, PlanData, Refusal
from apps.calendars.ical.writer import render_calendar

__all__ = [
    "IcsParseError",
    "OverrideData",
    "ParsedCalendar",
    "PlanData",
    "Refusal",
    "parse_calendar",
    "render_calendar",
]
