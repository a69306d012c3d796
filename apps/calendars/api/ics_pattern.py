"""What the import takes as iCalendar text: a file that begins BEGIN:VCALENDAR (after a byte-order mark, in any
case, as the parser reads it). The OpenAPI schema publishes the pattern and the import view checks it, so schema
and server agree on what is a calendar at all; what is inside is the parser's to read, and what it cannot read
is reported in the answer rather than refused with the request.
"""

import re

ICS_PATTERN = r"\A\ufeff?[Bb][Ee][Gg][Ii][Nn]:[Vv][Cc][Aa][Ll][Ee][Nn][Dd][Aa][Rr][ \t]*(?:\r|\n|\Z)"

_START = re.compile(ICS_PATTERN)


def looks_like_icalendar(text: str) -> bool:
    return _START.match(text) is not None
