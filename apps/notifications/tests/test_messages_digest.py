"""The digest email rendered from a stored context: days in the person's zone, all-day and cancelled plans, an
empty weekend, escaping, the subject and the opt-out."""

import pytest

from apps.notifications import rendering
from apps.notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db


def _context(**overrides: object) -> dict[str, object]:
    return {
        "saturday": "2026-06-27",
        "timezone": "America/New_York",
        "plans": [
            # Friday 23:30 to Saturday 01:00 in New York: shown under Saturday, where it ends.
            {"title": "Late show", "start": "2026-06-27T03:30:00Z", "end": "2026-06-27T05:00:00Z", "location": ""},
            {"title": "Tom's <b>party</b>", "start": "2026-06-27T22:00:00Z", "end": "2026-06-28T01:00:00Z",
             "location": "Brooklyn"},
            {"title": "Beach", "start": "2026-06-28T04:00:00Z", "end": "2026-06-29T04:00:00Z", "all_day": True},
            {"title": "Brunch", "start": "2026-06-28T15:00:00Z", "end": "2026-06-28T16:00:00Z", "cancelled": True},
        ],
        "clashes": [{"first": "Beach", "second": "Brunch", "reason": "overlaps Beach", "kind": "overlap"}],
        "recommendations": [
            {"title": "Jazz & blues", "start": "2026-06-27T23:00:00Z", "all_day": False, "venue": "Blue Note",
             "url": "https://planner.example/events/9/", "reasons": ["Matches your interest in music", "1.2 km away"]},
        ],
        "weekend_url": "https://planner.example/weekend/",
        "plan_url": "https://planner.example/weekend/plan/",
        **overrides,
    }  # fmt: skip


def _render(user, context: dict[str, object]) -> rendering.Rendered:  # type: ignore[no-untyped-def]
    row = Notification.objects.create(
        kind=Kind.DIGEST, user=user, to_address=user.email, idempotency_key=f"digest:{user.pk}:x", context=context
    )
    return rendering.render(row)


def test_days_times_and_sections_in_the_persons_zone(user):
    rendered = _render(user, _context())
    assert rendered.subject == "Your weekend, Sat 27–Sun 28 June: 4 plans, 1 clash to fix"
    text = rendered.text
    saturday, sunday = text.split("Saturday 27 June")[1].split("Sunday 28 June")
    assert "23:30  Late show" in saturday  # started on Friday, still on Saturday night
    assert "18:00–21:00  Tom's <b>party</b> — Brooklyn" in saturday
    assert "All day  Beach" in sunday
    assert "11:00–12:00  Brunch (cancelled)" in sunday
    assert "Beach / Brunch: overlaps Beach" in text
    assert "Jazz & blues — Sat 19:00, Blue Note" in text
    assert "Why: Matches your interest in music; 1.2 km away" in text
    assert "Tom&#x27;s &lt;b&gt;party&lt;/b&gt;" in rendered.html
    assert "<s><strong>11:00–12:00</strong> Brunch" in rendered.html
    assert 'href="https://planner.example/events/9/"' in rendered.html
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert rendered.headers["List-Unsubscribe"][1:-1] in rendered.text


def test_an_empty_weekend(user):
    rendered = _render(user, _context(plans=[], clashes=[], recommendations=[]))
    assert rendered.subject == "Your weekend, Sat 27–Sun 28 June: nothing planned yet"
    assert rendered.text.count("Nothing planned.") == 2
    assert "CLASHES" not in rendered.text
    assert "IDEAS" not in rendered.text


def test_a_weekend_across_two_months(user):
    rendered = _render(user, _context(saturday="2026-10-31", plans=[], clashes=[], recommendations=[]))
    assert rendered.subject == "Your weekend, Sat 31 Oct–Sun 01 Nov: nothing planned yet"
