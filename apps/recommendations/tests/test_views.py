"""The "For you" list on the home page and Discover (Django's test client on PostgreSQL): shown with its reasons to a
signed-in person only, feedback through htmx refreshes it in place, a dismissed event stays away, one person's
feedback leaves another's list alone, and without JavaScript the forms post and come back."""

import html
import re
from datetime import timedelta

import pytest
from django.test import Client

from apps.analytics.models import TrackedEvent
from apps.core import panels
from apps.recommendations.models import Feedback
from apps.recommendations.tests.factories import event, person, place, weekend_moment

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def listed():  # type: ignore[no-untyped-def]
    """Events of the reference weekend in central Berlin, and one the weekend after."""
    return {
        "jazz": event("Jazz night"),
        "piano": event("Piano recital", start=weekend_moment() + timedelta(hours=1)),
        "market": event(
            "Flea market", category="markets", venue=place("mauerpark"), start=weekend_moment() - timedelta(hours=6)
        ),
        "film": event("Open-air film", category="film", is_free=True, price_min=None),
        "later": event("Next week's gig", start=weekend_moment() + timedelta(days=7)),
    }


def _signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _for_you(page: str) -> str:
    match = re.search(r'<section class="for-you" id="for-you".*?</section>', page, re.S)
    assert match, "no For you section"
    return match.group(0)


TITLE = re.compile(r'<h3 class="event-card-title rec-card-title" id="rec-\d+-title"><a href="[^"]+">([^<]+)</a></h3>')


def _titles(section: str) -> list[str]:
    return [html.unescape(title) for title in TITLE.findall(section)]


def test_the_registry_holds_the_for_you_list() -> None:
    assert "for-you" in panels.personal_list_names()


def test_home_shows_the_list_with_reasons_and_buttons(listed) -> None:  # type: ignore[no-untyped-def]
    someone = person(interests=["music"], budget=30)
    response = _signed_in(someone).get("/")
    assert response.status_code == 200
    section = _for_you(response.content.decode())
    assert "For you this weekend" in section
    assert set(_titles(section)) == {"Jazz night", "Piano recital", "Flea market", "Open-air film"}
    assert '<li class="chip chip-small">you like music</li>' in section
    assert '<li class="chip chip-small">within your budget</li>' in section
    assert "€15" in section
    assert "Free" in section
    assert "Venue mauerpark" in section
    jazz = listed["jazz"].pk
    assert 'aria-label="Not for me: “Jazz night”"' in section
    assert f'hx-post="/for-you/{jazz}/dismiss/"' in section
    assert f'hx-post="/weekend/add/{jazz}/"' in section
    assert 'aria-label="More like this: “Jazz night”"' in section
    assert 'aria-label="Less like this: “Jazz night”"' in section
    # The list's impressions were logged by the server, with the request id the page carries for clicks.
    request_id = re.search(r'data-rec-request-id="([0-9a-f]+)"', section).group(1)  # type: ignore[union-attr]
    impressions = TrackedEvent.objects.filter(type="impression", user_id=someone.pk)
    assert impressions.count() == 4
    assert {row.context["request_id"] for row in impressions} == {request_id}
    assert 'role="status"' not in section  # a status line only after feedback


def test_discover_shows_the_list_for_the_weekend_chosen(listed) -> None:  # type: ignore[no-untyped-def]
    someone = person(interests=["music"])
    client = _signed_in(someone)
    section = _for_you(client.get("/discover/").content.decode())
    assert "Next week's gig" not in _titles(section)
    assert "Jazz night" in _titles(section)
    assert "you like music" in section
    later = _for_you(client.get("/discover/?weekend=next").content.decode())
    assert "For you next weekend" in later
    assert _titles(later) == ["Next week's gig"]
    assert 'name="next" value="/discover/?weekend=next"' in later
    # Its htmx refresh, as the weekend radios ask for it.
    fragment = client.get("/for-you/?page=discover&weekend=next", **HTMX)
    assert fragment.status_code == 200
    assert _titles(_for_you(fragment.content.decode())) == ["Next week's gig"]


def test_anonymous_visitors_see_no_for_you(listed) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for url in ("/", "/discover/"):
        response = client.get(url)
        assert response.status_code == 200
        assert 'id="for-you"' not in response.content.decode()
    assert not TrackedEvent.objects.filter(type="impression").exists()
    assert client.get("/for-you/").status_code == 302  # to log in


def test_late_on_sunday_the_home_page_looks_ahead(listed, clock) -> None:  # type: ignore[no-untyped-def]
    clock.move_to(weekend_moment() + timedelta(hours=7, minutes=30))  # Sunday 22:30: this weekend's events are over
    client = _signed_in(person(interests=["music"]))
    section = _for_you(client.get("/").content.decode())
    assert "For you next weekend" in section
    assert _titles(section) == ["Next week's gig"]
    # Discover keeps the weekend chosen on it.
    assert "No picks for this weekend yet" in _for_you(client.get("/discover/").content.decode())


def test_an_empty_list_says_what_to_do() -> None:
    newcomer = person(home_lat=None, home_lon=None)
    section = _for_you(_signed_in(newcomer).get("/").content.decode())
    assert "No picks for this weekend yet" in section
    assert "Set your home and interests" in section


def test_dismiss_through_htmx_removes_the_item_and_it_stays_away(listed) -> None:  # type: ignore[no-untyped-def]
    someone, other = person(interests=["music"]), person(interests=["music"])
    client = _signed_in(someone)
    jazz = listed["jazz"].pk
    response = client.post(f"/for-you/{jazz}/dismiss/", {"page": "home", "weekend": "this"}, **HTMX)
    assert response.status_code == 200
    section = response.content.decode()
    assert section.lstrip().startswith('<section class="for-you"')  # the section alone, for hx-swap="outerHTML"
    assert "Jazz night" not in _titles(section)
    assert "Piano recital" in _titles(section)
    assert re.search(r'role="status" tabindex="-1" autofocus>Removed “Jazz night”', section)
    assert Feedback.objects.filter(user=someone, event_id=jazz, action="dismiss").count() == 1
    # Still gone on reload, on both pages.
    assert "Jazz night" not in _titles(_for_you(client.get("/").content.decode()))
    assert "Jazz night" not in _titles(_for_you(client.get("/discover/").content.decode()))
    # Feedback is per person: the other person's list still has it.
    assert "Jazz night" in _titles(_for_you(_signed_in(other).get("/").content.decode()))


def test_more_and_less_like_this_refresh_the_list(listed) -> None:  # type: ignore[no-untyped-def]
    someone = person(interests=["music"])
    client = _signed_in(someone)
    market = listed["market"].pk
    more = client.post(f"/for-you/{market}/more/", {"page": "discover", "weekend": "this"}, **HTMX)
    assert more.status_code == 200
    assert "Got it: more like “Flea market”" in more.content.decode()
    assert "Flea market" in _titles(more.content.decode())  # more like it: still listed
    less = client.post(f"/for-you/{market}/less/", {"page": "discover", "weekend": "this"}, **HTMX)
    assert "Got it: less like “Flea market”" in less.content.decode()
    # Changing one's mind replaces the earlier word.
    assert list(Feedback.objects.filter(user=someone).values_list("action", flat=True)) == ["less_like_this"]


def test_without_javascript_the_form_posts_and_comes_back(listed) -> None:  # type: ignore[no-untyped-def]
    someone = person(interests=["music"])
    client = _signed_in(someone)
    film = listed["film"].pk
    response = client.post(
        f"/for-you/{film}/dismiss/", {"page": "discover", "weekend": "this", "next": "/discover/?category=film"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/discover/?category=film#for-you"
    page = client.get("/discover/?category=film").content.decode()
    assert "Removed “Open-air film”. It will not come back." in page  # the message, once
    assert "Open-air film" not in _titles(_for_you(page))
    # Only this site's addresses: anything else goes back to the page the form was on.
    elsewhere = client.post(f"/for-you/{film}/more/", {"page": "home", "next": "https://example.com/"})
    assert elsewhere["Location"] == "/#for-you"


def test_feedback_needs_a_known_action_an_event_and_a_person(listed) -> None:  # type: ignore[no-untyped-def]
    someone = person()
    client = _signed_in(someone)
    jazz = listed["jazz"].pk
    assert client.post(f"/for-you/{jazz}/love/", **HTMX).status_code == 404
    assert client.post("/for-you/999999/dismiss/", **HTMX).status_code == 404
    assert client.get(f"/for-you/{jazz}/dismiss/").status_code == 405
    anonymous = Client().post(f"/for-you/{jazz}/dismiss/")
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    assert not Feedback.objects.exists()


def test_a_failing_panel_leaves_the_page_up(listed) -> None:  # type: ignore[no-untyped-def]
    def broken(request, place):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    panels.register_personal_list("broken", broken, order=1)
    try:
        response = _signed_in(person(interests=["music"])).get("/")
    finally:
        panels.unregister_personal_list("broken")
    assert response.status_code == 200
    assert "Jazz night" in _titles(_for_you(response.content.decode()))
