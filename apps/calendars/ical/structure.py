"""The file as text: decoded, its BEGIN/END nesting checked line by line, and a parse error located."""

from __future__ import annotations

import re
from dataclasses import dataclass

import icalendar

from apps.calendars.ical.properties import clip
from apps.calendars.ical.shapes import IcsParseError


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Block:
    name: str
    first_line: int
    last_line: int
    text: str


def check_structure(text: str) -> tuple[str, list[Block]]:
    """Checks BEGIN/END nesting line by line, so a broken file is reported with its line number.

    Returns the text to parse (without content after the last END:VCALENDAR) and the components directly inside
    each VCALENDAR, with their lines, for locating later errors.
    """
    lines = _LINE_BREAK.split(text)
    stack: list[tuple[str, int]] = []
    blocks: list[Block] = []
    block_start = 0
    seen_calendar = False
    trailing_from = 0
    logical: list[tuple[int, str]] = []  # (line number, unfolded content line)
    for number, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        elif line.strip():
            logical.append((number, line))
    if not logical:
        raise IcsParseError("The file is empty.")
    for number, line in logical:
        key, _, value = line.partition(":")
        key, value = key.strip().upper(), value.strip()
        if key in ("BEGIN", "END") and not _NAME.match(value):
            raise IcsParseError(f"Line {number}: '{clip(line, 60)}' does not name a component.")
        value = value.upper()
        if key == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise IcsParseError(f"Line {number}: expected BEGIN:VCALENDAR, found '{clip(line, 60)}'.")
            if len(stack) == 1:
                block_start = number
            stack.append((value, number))
            seen_calendar = True
        elif key == "END":
            if not stack:
                raise IcsParseError(f"Line {number}: END:{value} without a matching BEGIN.")
            open_names = [name for name, _ in stack]
            if value != open_names[-1]:
                if value in open_names:
                    inner, opened = stack[-1]
                    raise IcsParseError(f"Line {number}: END:{value} while {inner} (opened on line {opened}) is open.")
                if len(stack) == 1:
                    raise IcsParseError(f"Line {number}: END:{value} without a matching BEGIN.")
            # A misspelt END (END:VTOOD) closes the innermost component, as icalendar reads it.
            open_name, _opened = stack.pop()
            if len(stack) == 1:
                block_lines = lines[block_start - 1 : number]
                blocks.append(Block(open_name, block_start, number, "\r\n".join(block_lines)))
        elif not stack and not seen_calendar:
            raise IcsParseError(f"Line {number}: content before BEGIN:VCALENDAR: '{clip(line, 60)}'.")
        elif not stack:
            # Content after END:VCALENDAR (a cache's trailing comment, say) is ignored, as icalendar does.
            trailing_from = trailing_from or number
    if stack:
        open_name, opened = stack[-1]
        raise IcsParseError(f"The file ends inside {open_name} (opened on line {opened}): END:{open_name} is missing.")
    if trailing_from:
        text = "\r\n".join(lines[: trailing_from - 1]) + "\r\n"
    return text, blocks


def locate(text: str, blocks: list[Block], error: Exception) -> str:
    """Where icalendar failed: the component (and line) whose content it cannot read."""
    message = clip(str(error) or type(error).__name__, 200)
    for block in blocks:
        try:
            icalendar.Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{block.text}\r\nEND:VCALENDAR\r\n")
        except Exception:  # noqa: BLE001 - the same failure, now narrowed down to one component
            line = _quoted_line(block.text, message, block.first_line)
            lines = f"line {line}" if line else f"lines {block.first_line}-{block.last_line}"
            return f"{block.name} at {lines}: {message}"
    line = _quoted_line(text, message, 1)
    return f"Line {line}: {message}" if line else f"In the VCALENDAR properties: {message}"


def _quoted_line(text: str, message: str, first_line: int) -> int | None:
    """The line an icalendar message quotes ("... parts: 'X': ..."): an equal line first, then one containing it."""
    lines = _LINE_BREAK.split(text)
    for quoted in re.findall(r"'([^']+)'", message):
        for offset, line in enumerate(lines):
            if line.strip() == quoted.strip():
                return first_line + offset
    for quoted in re.findall(r"'([^']{4,})'", message):
        for offset, line in enumerate(lines):
            if quoted in line:
                return first_line + offset
    return None
