"""The group page's heat map and best windows from availability windows (apps.groups.views.heatmap): pure, no
database. An hour counts the members free for all of it; time in no window has nobody free; the hours a DST
change skips or doubles; best windows cut to one day's waking hours."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from apps.groups.availability import Window, windows
from apps.groups.views.heatmap import best_windows, grid

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY, SUNDAY = date(2026, 6, 20), date(2026, 6, 21)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def _pieces(busy: dict[int, list[tuple[datetime, datetime]]], start: date = SATURDAY) -> list[Window]:
    return windows(busy, start=_at(start, 0), end=_at(start + timedelta(days=2), 0), min_minutes=0)


def _row(rows, hour: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [cell.text for cell in rows[hour].cells]


def test_an_hour_counts_those_free_for_all_of_it() -> None:
    busy = {1: [(_at(SATURDAY, 14, 30), _at(SATURDAY, 15))], 2: [], 3: [(_at(SUNDAY, 9), _at(SUNDAY, 11))]}
    rows = grid(_pieces(busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=3)
    assert _row(rows, 13) == ["3 of 3 free", "3 of 3 free"]
    assert _row(rows, 14) == ["2 of 3 free", "3 of 3 free"]  # busy for half of it is not free for it
    assert _row(rows, 15) == ["3 of 3 free", "3 of 3 free"]
    assert _row(rows, 10) == ["3 of 3 free", "2 of 3 free"]
    assert [cell.shade for cell in rows[14].cells] == [3, 4]
    assert rows[3].night
    assert not rows[8].night


def test_when_nobody_is_free_the_cells_say_so() -> None:
    everyone_busy = {1: [(_at(SATURDAY, 10), _at(SATURDAY, 12))], 2: [(_at(SATURDAY, 9), _at(SATURDAY, 13))]}
    rows = grid(_pieces(everyone_busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=2)
    assert _row(rows, 11) == ["0 of 2 free", "2 of 2 free"]
    assert rows[11].cells[0].shade == 0
    assert _row(rows, 9) == ["1 of 2 free", "2 of 2 free"]
    assert rows[9].cells[0].shade >= 1  # one free person is never shaded as nobody


def test_the_hour_clocks_skip_is_marked_and_the_doubled_hour_counts_both() -> None:
    spring = date(2026, 3, 28)  # Sunday 29 March: 02:00 becomes 03:00 in Berlin
    rows = grid(_pieces({1: []}, spring), days=[spring, spring + timedelta(days=1)], tz="Europe/Berlin", sharing=1)
    assert rows[2].cells[1].shown == "–"
    assert rows[2].cells[0].text == "1 of 1 free"
    autumn = date(2026, 10, 24)  # Sunday 25 October: 03:00 becomes 02:00 again
    busy = {1: [(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 45, tzinfo=UTC))]}
    rows = grid(_pieces(busy, autumn), days=[autumn, autumn + timedelta(days=1)], tz="Europe/Berlin", sharing=1)
    assert rows[2].cells[1].text == "0 of 1 free"  # 02:00 CEST (00:00-01:00 UTC) is part of the long 02:00 hour


def test_best_windows_are_cut_to_waking_hours_and_ranked() -> None:
    busy = {1: [(_at(SATURDAY, 14), _at(SATURDAY, 18))], 2: [(_at(SUNDAY, 8), _at(SUNDAY, 22, 30))]}
    best = best_windows(_pieces(busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=2)
    assert [w.summary for w in best] == [
        "Everyone free: Sat 08:00–14:00",
        "Everyone free: Sat 18:00–23:00",
        "1 of 2 free: Sun 08:00–22:30",
        "1 of 2 free: Sat 14:00–18:00",
    ]
    assert best[1].value == "2026-06-20T16:00:00+00:00/2026-06-20T21:00:00+00:00"


def test_a_weekend_under_way_offers_only_what_is_left_of_it() -> None:
    busy = {1: [(_at(SATURDAY, 14), _at(SATURDAY, 18))], 2: []}
    best = best_windows(
        _pieces(busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=2, not_before=_at(SATURDAY, 19, 30)
    )
    assert [w.summary for w in best] == ["Everyone free: Sun 08:00–23:00", "Everyone free: Sat 19:30–23:00"]
    late = best_windows(
        _pieces(busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=2, not_before=_at(SUNDAY, 22, 30)
    )
    assert late == []  # half an hour of waking time left: shorter than a window worth proposing


def test_windows_shorter_than_an_hour_are_not_proposed() -> None:
    busy = {1: [(_at(SATURDAY, 8, 30), _at(SATURDAY, 22, 30))], 2: [(_at(SUNDAY, 0), _at(SUNDAY + timedelta(1), 0))]}
    best = best_windows(_pieces(busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=2)
    assert all(w.end - w.start >= timedelta(minutes=60) for w in best)
    assert "Sat 08:00–08:30" not in {w.label for w in best}


@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 47 * 4), st.integers(1, 16)),
        max_size=12,
    )
)
def test_every_cell_is_at_most_the_free_count_at_any_moment_in_it(intervals: list[tuple[int, int, int]]) -> None:
    start = _at(SATURDAY, 0)
    busy: dict[int, list[tuple[datetime, datetime]]] = {0: [], 1: [], 2: []}
    for member, quarter, length in intervals:
        begin = start + timedelta(minutes=15 * quarter)
        busy[member].append((begin, begin + timedelta(minutes=15 * length)))
    rows = grid(_pieces(busy), days=[SATURDAY, SUNDAY], tz="Europe/Berlin", sharing=3)
    for hour, row in enumerate(rows):
        for offset, cell in enumerate(row.cells):
            hour_start = start + timedelta(days=offset, hours=hour)
            for minute in range(0, 60, 15):
                moment = hour_start + timedelta(minutes=minute)
                free_now = sum(1 for m in busy.values() if not any(b <= moment < e for b, e in m))
                assert cell.free <= free_now
