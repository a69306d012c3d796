"""When a group's members are free together: the windows of a sweep over their busy intervals.

Pure: no Django, no database. The caller (selectors.availability) turns each sharing member's plans into busy
intervals (travel included) and passes every sharing member, even one with nothing planned (an empty list).

A window is a maximal interval within [start, end) in which the set of free members does not change, lasting at
least `min_minutes`; windows where nobody is free are left out. They are ordered by how many are free (most
first), then by length (longest first), then by start. Busy intervals are half-open: a plan ending at 12:00
leaves its member free from 12:00.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    free: tuple[int, ...]  # member (user) ids, ascending
    busy_count: int  # the sharing members who are not free


def windows(
    busy_by_member: Mapping[int, Iterable[tuple[datetime, datetime]]],
    *,
    start: datetime,
    end: datetime,
    min_minutes: int,
) -> list[Window]:
    """The windows of [start, end) for these members (see the module's rules): O(n log n) in the intervals."""
    if end <= start:
        return []
    # +1 when a member's busy interval begins, -1 when it ends; clipped to the window. At one instant the ends are
    # applied before the starts: either way only the state after the instant matters.
    changes: list[tuple[datetime, int, int]] = []
    for member, intervals in busy_by_member.items():
        for begin, finish in intervals:
            begin, finish = max(begin, start), min(finish, end)
            if begin < finish:
                changes.append((begin, 1, member))
                changes.append((finish, -1, member))
    changes.sort(key=lambda change: (change[0], change[1]))

    members = len(busy_by_member)
    busy_depth = dict.fromkeys(busy_by_member, 0)
    free = set(busy_by_member)
    pieces: list[tuple[datetime, datetime, tuple[int, ...]]] = []
    cursor, current = start, tuple(sorted(free))
    i = 0
    while i < len(changes):
        moment = changes[i][0]
        while i < len(changes) and changes[i][0] == moment:
            _, step, member = changes[i]
            busy_depth[member] += step
            if busy_depth[member] == 0:
                free.add(member)
            else:
                free.discard(member)
            i += 1
        now_free = tuple(sorted(free))
        if now_free != current:  # a boundary only where the free set changes: windows stay maximal
            pieces.append((cursor, moment, current))
            cursor, current = moment, now_free
    pieces.append((cursor, end, current))

    shortest = timedelta(minutes=min_minutes)
    found = [
        Window(begin, finish, who, members - len(who))
        for begin, finish, who in pieces
        if who and finish > begin and finish - begin >= shortest
    ]
    found.sort(key=lambda w: (-len(w.free), -(w.end - w.start), w.start))
    return found
