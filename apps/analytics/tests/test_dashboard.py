"""The staff analytics dashboard (/staff/analytics/): staff see the rolled-up figures of the range (funnel,
retention cohorts, web vitals, experiments, charts), a bad date is a 400 that says what is wrong, and nobody else
sees it. The charts' geometry (apps.analytics.charts) is tested on its own below."""

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.analytics import charts, dashboard
from apps.analytics.tests.factories import staff_user
from apps.analytics.tests.kpi_data import GOOD_PAGE, SLOW_PAGE, Seeded, seed_two_weeks
from apps.users.tests.factories import UserFactory

URL = "/staff/analytics/"


@pytest.fixture
def seeded(db: None) -> Seeded:
    return seed_two_weeks(timezone.now().date())  # the suite's frozen clock


@pytest.fixture
def staff_client(client: Client, db: None) -> Client:
    client.force_login(staff_user())
    return client


def _html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def _row(html: str, attribute: str, value: str) -> str:
    match = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={value}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


# --- The page ----------------------------------------------------------------------------------------------


def test_the_url_is_named_in_its_staff_namespace() -> None:
    assert reverse("staff_analytics:dashboard") == URL


@pytest.mark.django_db
def test_staff_see_the_seeded_figures(seeded: Seeded, staff_client: Client) -> None:
    # Seeded first: the staff account's own sign-up comes after the rollup, so it is not among the figures.
    response = staff_client.get(URL)
    assert response.status_code == 200
    html = _html(response)
    today = timezone.now().date()
    first = today - timedelta(days=27)  # the default: the last 28 days
    assert f'value="{first.isoformat()}"' in html
    assert f'value="{today.isoformat()}"' in html
    assert "Computed at" in html
    assert "analytics/dashboard.css" in html

    # The funnel: the people at each step and the conversion from the one before, drawn and as text.
    for figure in (f"{seeded.shown:,}", f"{seeded.clicked:,} · {seeded.clicked / seeded.shown * 100:.1f}%",
                   f"{seeded.saved:,} · {seeded.saved / seeded.clicked * 100:.1f}%",
                   f"{seeded.planned:,} · {seeded.planned / seeded.saved * 100:.1f}%"):  # fmt: skip
        assert figure in html, figure

    # Retention: the sign-up week of the second Monday, 7 sign-ups, of whom those of the even days came back.
    week = seeded.first + timedelta(days=(7 - seeded.first.weekday()) % 7)
    days = [week + timedelta(days=n) for n in range(7)]
    back_next_day = sum(1 for day in days if (day - seeded.first).days % 2 == 0)
    cohort = _row(html, "data-week", week.isoformat())
    assert cohort.startswith(f"{week.day} {week:%b} 7 {back_next_day / 7 * 100:.1f}%"), cohort
    assert cohort.endswith("—"), cohort  # D30 cannot be measured yet
    assert re.search(r'class="heat heat-\d"', html)

    # Web vitals per page, with their marks.
    assert _row(html, "data-page", GOOD_PAGE) == f"{GOOD_PAGE} 1,800 ms Good 150 ms Good 0.05 Good 14"
    slow = _row(html, "data-page", SLOW_PAGE)
    assert slow == f"{SLOW_PAGE} 3,000 ms Needs improvement 600 ms Poor 0.30 Poor 14"

    # Experiments with their state and a link to their results.
    running = re.search(r'<li data-experiment="ranker-v2">(.*?)</li>', html, re.S)
    assert running
    assert "Running" in running.group(1)
    assert reverse("admin:analytics_experiment_results", args=["ranker-v2"]) in running.group(1)
    draft = re.search(r'<li data-experiment="calmer-cards">(.*?)</li>', html, re.S)
    assert draft
    assert "Draft" in draft.group(1)
    assert "not started" in draft.group(1)

    # Under the Content-Security-Policy: no inline script or style anywhere, the charts included.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html
    assert "<style" not in html

    # The charts: drawn, named, and their figures in words.
    for key in ("actives", "signups", "ctr", "synced", "failures"):
        assert f'aria-labelledby="{key}-title"' in html, key
    assert html.count("<polyline points=") >= 5
    assert '<rect class="chart-bar"' in html
    assert f"{seeded.signups} in total" in html
    assert f"{seeded.synced:,} in total" in html
    assert f"{seeded.failures} in total" in html


@pytest.mark.django_db
def test_the_range_chosen_is_the_range_shown(staff_client: Client, seeded: Seeded) -> None:
    last_day = seeded.last.isoformat()
    html = _html(staff_client.get(URL, {"start": last_day, "end": last_day}))
    days = (seeded.last - seeded.first).days + 1
    # Only the last day: day n has n + 1 people shown a list.
    assert re.findall(r'class="funnel-figure"[^>]*>([^<]*)<', html)[0] == f"{days}"
    assert f'value="{last_day}"' in html
    assert "a point a day" in html


@pytest.mark.django_db
def test_a_long_range_is_drawn_by_week(staff_client: Client, seeded: Seeded) -> None:
    start = (seeded.last - timedelta(days=180)).isoformat()
    response = staff_client.get(URL, {"start": start, "end": seeded.last.isoformat()})
    assert response.status_code == 200
    assert "a point a week" in _html(response)


@pytest.mark.django_db
def test_without_data_every_part_says_so(staff_client: Client) -> None:
    html = _html(staff_client.get(URL, {"start": "2020-01-01", "end": "2020-01-31"}))
    assert html.count(charts.NO_DATA) >= 5
    assert "Nobody signed up on these dates." in html
    assert "No web vitals were measured on these dates." in html
    assert "Not computed yet" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-01", "end": "2026-06-10"}, "Enter a date like 2026-06-01."),
        ({"start": "yesterday", "end": "2026-06-10"}, "Enter a date like 2026-06-01."),
        ({"start": "2026-06-01", "end": "2026-06-31"}, "Enter a date like 2026-06-28."),
        ({"start": "2026-06-10", "end": "2026-06-01"}, "The last day is before the first."),
        ({"start": "2020-01-01", "end": "2026-06-01"}, "Choose at most 732 days."),
    ],
)
@pytest.mark.django_db
def test_a_bad_date_is_a_400_that_says_why(staff_client: Client, params: dict[str, str], message: str) -> None:
    response = staff_client.get(URL, params)
    assert response.status_code == 400
    html = _html(response)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert 'role="alert"' in html
    assert "Trends" not in html  # no figures for a range that is not one


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_people_who_are_not_staff_get_a_404(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 404


@pytest.mark.django_db
def test_staff_need_their_second_factor(staff_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.STAFF_MFA_REQUIRED = True
    response = staff_client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")  # none set up yet: set one up first


@pytest.mark.django_db
def test_only_get(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405


@pytest.mark.django_db
def test_the_admin_links_to_the_dashboard(client: Client) -> None:
    client.force_login(staff_user(is_superuser=True))
    assert f'href="{URL}"' in _html(client.get("/admin/"))


@pytest.mark.django_db
def test_where_no_beat_runs_the_days_shown_are_rolled_up_first(staff_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_ROLLUP_ON_REQUEST = True
    html = _html(staff_client.get(URL))
    assert "Not computed yet" not in html
    assert "Computed at" in html


# --- Pieces ---------------------------------------------------------------------------------------------


def test_web_vitals_are_marked_by_the_core_web_vitals_thresholds() -> None:
    marks = {
        ("LCP", 2500): "good", ("LCP", 2501): "needs-improvement", ("LCP", 4000): "needs-improvement",
        ("LCP", 4001): "poor", ("INP", 200): "good", ("INP", 500): "needs-improvement", ("INP", 501): "poor",
        ("CLS", 0.1): "good", ("CLS", 0.25): "needs-improvement", ("CLS", 0.26): "poor", ("CLS", None): "",
    }  # fmt: skip
    assert {key: dashboard.vital_rating(*key) for key in marks} == marks


def test_the_range_defaults_to_the_last_28_days() -> None:
    today = date(2026, 6, 17)
    form = dashboard.range_form({}, today)
    assert form.is_valid()
    one_day = dashboard.range_form({"start": "", "end": "2026-06-01"}, today)
    assert one_day.is_valid()
    assert one_day.cleaned_data["end"] == date(2026, 6, 1)
    assert (form.cleaned_data["start"], form.cleaned_data["end"]) == (date(2026, 5, 21), today)


MONDAY = date(2026, 5, 4)


def test_points_are_scaled_into_the_view_box() -> None:
    series = charts.Series(
        "Daily", [(MONDAY, 0.0), (MONDAY + timedelta(days=5), 7.0), (MONDAY + timedelta(days=10), 3.5)]
    )
    chart = charts.line_chart([series], start=MONDAY, end=MONDAY + timedelta(days=10))
    assert chart.view_box == "0 0 360 200"
    assert not chart.note
    (line,) = chart.lines
    assert line.segments == [f"{chart.left:g},{chart.bottom:g} 191,{chart.top + 0.125 * (chart.bottom - chart.top):g} "
                             f"338,{chart.bottom - 3.5 / 8 * (chart.bottom - chart.top):g}"]  # fmt: skip
    for x, y in line.dots:
        assert chart.left <= x <= chart.right
        assert chart.top <= y <= chart.bottom
    assert [tick.label for tick in chart.y_ticks] == ["0", "2", "4", "6", "8"]  # a round top above the largest
    assert chart.x_ticks[0].label == "4 May"
    assert chart.x_ticks[-1].label == "14 May"
    assert chart.x_ticks[0].at == chart.left
    assert chart.x_ticks[-1].at == chart.right


def test_a_missing_day_breaks_the_line_and_none_is_no_point() -> None:
    points = [(MONDAY + timedelta(days=n), value) for n, value in enumerate([1.0, 2.0, None, 4.0, 5.0])]
    chart = charts.line_chart(
        [charts.Series("CTR", points)], start=MONDAY, end=MONDAY + timedelta(days=4), unit="ratio"
    )
    assert len(chart.lines[0].segments) == 2
    assert len(chart.lines[0].dots) == 4
    assert chart.y_ticks[-1].label == "600%"  # a round step (2) above the largest (5)


def test_an_empty_series_draws_a_no_data_note() -> None:
    for chart in (
        charts.line_chart([charts.Series("Daily", [])], start=MONDAY, end=MONDAY + timedelta(days=6)),
        charts.line_chart([charts.Series("Daily", [(MONDAY, None)])], start=MONDAY, end=MONDAY),
        charts.bar_chart(charts.Series("Sign-ups", []), start=MONDAY, end=MONDAY + timedelta(days=6)),
        charts.bar_chart(charts.Series("Sign-ups", [(MONDAY, 0.0)]), start=MONDAY, end=MONDAY),
    ):
        assert chart.note == charts.NO_DATA
        assert chart.lines == [] or all(not line.segments for line in chart.lines)
        assert chart.bars == []
        assert chart.left < chart.middle[0] < chart.right


def test_bars_fill_their_bands_and_stand_on_the_axis() -> None:
    points = [(MONDAY + timedelta(days=n), float(n)) for n in range(7)]
    chart = charts.bar_chart(charts.Series("Sign-ups", points), start=MONDAY, end=MONDAY + timedelta(days=6))
    assert len(chart.bars) == 7
    assert chart.bars[0].height == 0
    assert chart.bars[-1].y == pytest.approx(chart.top, abs=0.1)
    for bar in chart.bars:
        assert chart.left <= bar.x
        assert bar.x + bar.width <= chart.right + 0.1
        assert bar.y + bar.height == pytest.approx(chart.bottom, abs=0.1)
    assert chart.bars[3].label == "7 May: 3"
    weekly = charts.bar_chart(charts.Series("Sign-ups", [(MONDAY, 7.0), (MONDAY + timedelta(days=7), 2.0)]),
                              start=MONDAY, end=MONDAY + timedelta(days=13), step_days=7)  # fmt: skip
    assert len(weekly.bars) == 2
    assert weekly.bars[0].width > 100


def test_the_funnel_is_scaled_to_its_first_step() -> None:
    funnel = charts.funnel_chart([("Shown", 200, None), ("Clicked", 50, 0.25), ("Saved", 0, 0.0)])
    assert [row.bar_width for row in funnel.rows] == [360, 90, 0]
    assert [row.figure for row in funnel.rows] == ["200", "50 · 25% of the step before", "0 · 0% of the step before"]
    assert funnel.view_box == f"0 0 360 {3 * charts.FUNNEL_ROW:g}"
    assert charts.funnel_chart([("Shown", 0, None)]).note == charts.NO_DATA


def test_values_read_as_people_read_them() -> None:
    assert [charts.format_value(v) for v in (None, 0, 7, 1234, 12_500, 2.5, 12.25)] == [
        "—", "0", "7", "1,234", "12.5k", "2.50", "12.2"
    ]  # fmt: skip
    assert [charts.format_value(v, "ratio") for v in (0.5, 0.4567, 1)] == ["50%", "45.7%", "100%"]
    assert charts.format_value(2480.4, "ms") == "2,480 ms"
    assert [charts.nice_step(v) for v in (0, 8, 9, 100, 0.37)] == [1, 2, 5, 50, 0.1]
    shares = (None, 0, 0.01, 0.05, 0.12, 0.2, 0.4, 0.5, 1.0)
    assert [charts.heat_level(share) for share in shares] == [-1, 0, 1, 2, 3, 4, 5, 6, 6]


def test_the_navigation_links_staff_and_only_staff_to_the_dashboard(client, user):  # type: ignore[no-untyped-def]
    from apps.analytics.tests.factories import staff_user

    client.force_login(user)
    assert "/staff/analytics/" not in client.get("/discover/").content.decode()
    client.force_login(staff_user())
    assert 'href="/staff/analytics/"' in client.get("/discover/").content.decode()
