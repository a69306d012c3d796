"""The simulated population (apps.recommendations.simulation): deterministic for a seed, tracked at its simulated
moments through the real services, and its people's reasons are true of their data."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import call_command

from apps.analytics.models import TrackedEvent
from apps.calendars.models import Plan
from apps.core.taxonomy import CATEGORIES
from apps.recommendations import selectors, services, simulation
from apps.users.models import User

# The demo catalogue's three weekends after this Monday: Saturdays 8, 15 and 22 May 2027 (no DST change near).
CATALOGUE_DATE = date(2027, 5, 3)
SEED = 20270503

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(clock: time_machine.Traveller) -> None:
    # The people join and the catalogue is seeded on its Monday morning, whatever TEST_NOW is: the simulated
    # sessions (the three weekends after it) lie ahead of the clock, as they would for a real population.
    clock.move_to(datetime(2027, 5, 3, 7, 0, tzinfo=UTC))
    call_command("seed_demo", date=CATALOGUE_DATE, stdout=open("/dev/null", "w"))  # noqa: SIM115


def _forget(seed: int) -> None:
    users = User.objects.filter(email__startswith=f"sim-{seed}-")
    TrackedEvent.objects.filter(user_id__in=list(users.values_list("pk", flat=True))).delete()
    users.delete()


def test_the_catalogue_weekends_are_found_from_the_events(catalogue: None) -> None:
    assert simulation.catalogue_weekends(count=3) == [date(2027, 5, 8), date(2027, 5, 15), date(2027, 5, 22)]
    assert simulation.catalogue_weekends(count=2, start=date(2027, 5, 10)) == [date(2027, 5, 15), date(2027, 5, 22)]


def test_a_seed_gives_the_same_population_and_interactions(catalogue: None) -> None:
    first = simulation.simulate(people=12, seed=SEED, weekends=2)
    tastes = list(first.tastes.values())
    profiles = [(u.profile.home_lat, u.profile.home_lon, u.profile.interests) for u in first.users]
    _forget(SEED)
    second = simulation.simulate(people=12, seed=SEED, weekends=2)

    assert first.summary() == second.summary()
    assert first.log == second.log
    assert list(second.tastes.values()) == tastes
    assert [(u.profile.home_lat, u.profile.home_lon, u.profile.interests) for u in second.users] == profiles
    assert first.clicks > 0
    assert first.saves > 0
    assert first.plans > 0
    second_ids = [user.pk for user in second.users]
    assert TrackedEvent.objects.filter(type="impression", user_id__in=second_ids).count() == second.impressions


def test_interactions_are_tracked_at_their_simulated_moments(catalogue: None) -> None:
    result = simulation.simulate(people=8, seed=SEED, weekends=2)
    user_ids = [user.pk for user in result.users]
    rows = TrackedEvent.objects.filter(user_id__in=user_ids, type__in=["click", "save", "plan"]).order_by("at", "pk")
    assert rows.count() == result.clicks + result.saves + result.plans
    assert not rows.filter(client_at__isnull=False).exists()  # none clamped to the time received
    # Every session is on the Wednesday evening to Friday morning before its weekend, in May 2027.
    for at in rows.values_list("at", flat=True):
        assert datetime(2027, 5, 5, tzinfo=UTC) <= at < datetime(2027, 5, 15, tzinfo=UTC)
        assert at.astimezone(UTC).weekday() in (2, 3, 4)
    impressions = TrackedEvent.objects.filter(user_id__in=user_ids, type="impression")
    assert impressions.count() == result.impressions
    assert all(at.year == 2027 for at in impressions.values_list("at", flat=True))
    planned = Plan.objects.filter(calendar__owner_id__in=user_ids, event__isnull=False).count()
    assert planned == result.plans
    # A clicked listed item carries the list's request id and its rank.
    listed = rows.filter(type="click", context__has_key="request_id").first()
    assert listed is not None
    assert isinstance(listed.context["rank"], int)


def test_profiles_come_from_the_hidden_tastes(catalogue: None) -> None:
    result = simulation.simulate(people=40, seed=SEED + 1, weekends=1)
    without_interests = 0
    for user in result.users:
        taste = result.tastes[user.pk]
        profile = user.profile
        assert 1 <= len(taste.categories) <= 3
        assert profile.timezone == "Europe/Berlin"
        assert not user.has_usable_password()
        assert abs(profile.home_lat - 52.51) < 0.2
        assert abs(profile.home_lon - 13.40) < 0.3
        # Stated interests: some of the hidden categories, at most one other.
        assert len(set(profile.interests) - set(taste.categories)) <= 1
        without_interests += not profile.interests
    assert 0 < without_interests < len(result.users)


def test_reasons_say_only_what_the_data_says(catalogue: None) -> None:
    result = simulation.simulate(people=15, seed=SEED + 2, weekends=1)
    moment = datetime(2027, 5, 13, 18, 0, tzinfo=UTC)
    start, end = datetime(2027, 5, 14, 22, 0, tzinfo=UTC), datetime(2027, 5, 16, 22, 0, tzinfo=UTC)
    said = 0
    for user in result.users:
        history = selectors.history_of(user_id=user.pk)
        liked = set(user.profile.interests) | {item.category for item in history}
        liked_tags = {token.removeprefix("tag:") for item in history for token in item.tokens if token[:4] == "tag:"}
        served = services.recommendations_serve(
            user=user, start=start, end=end, tz="Europe/Berlin", track=False, now=moment
        )
        for item in served.results:
            assert item.event.distance_km <= user.profile.max_distance_km
            for reason in item.reasons:
                if reason.startswith("you like "):
                    said += 1
                    # A genre tag the person's history shares (the demo's tags are category slugs), else the
                    # category, by name, which they stated or interacted with.
                    tags = {tag.casefold() for tag in item.event.tags}
                    liked_tag = reason.removeprefix("you like ")
                    if liked_tag in tags and liked_tag in liked_tags:
                        continue
                    assert reason == f"you like {CATEGORIES[item.event.category].casefold()}"
                    assert item.event.category in liked
                if reason == "within your budget":
                    assert item.event.price_min <= user.profile.budget
    assert said > 0


def test_the_command_prints_the_summary(catalogue: None) -> None:
    out = _run("simulate_population", "--people", "3", "--seed", "5", "--weekends", "1", "--json")
    assert set(out) == {"people", "weekends", "impressions", "clicks", "saves", "plans"}
    assert out["people"] == 3
    assert out["weekends"] == ["2027-05-08"]


def _run(*args: str) -> dict[str, object]:
    import io
    import json

    stdout = io.StringIO()
    call_command(*args, stdout=stdout)
    return json.loads(stdout.getvalue().strip().splitlines()[-1])  # type: ignore[no-any-return]
