"""The `recommendations-ranker` experiment end to end: people split by variant, each variant's list made by the
ranker it names, impressions carrying the variant, and the report's click-through per variant."""

import pytest

from apps.analytics import selectors as analytics_selectors
from apps.analytics.models import TrackedEvent
from apps.analytics.tests.factories import make_experiment
from apps.recommendations.tests.factories import event, person, track

pytestmark = pytest.mark.django_db
URL = "/api/v1/recommendations"
VARIANTS = [{"key": "control", "weight": 50}, {"key": "popularity", "weight": 50}]


def test_a_running_experiment_splits_people_and_the_report_shows_click_through_per_variant(client_for) -> None:
    experiment = make_experiment("recommendations-ranker", variants=VARIANTS, metric="click", status="running")
    concert = event("Jazz night")
    people = [person(interests=["music"]) for _ in range(24)]
    served = {}
    for someone in people:
        body = client_for(someone).get(URL).json()
        served[someone.pk] = body
        assert body["variant"] in {"control", "popularity"}
        # control keeps the default choice (content, for people with no history); the other names its ranker.
        assert body["ranker"] == ("content" if body["variant"] == "control" else "popularity")
    by_variant = {
        key: [pk for pk, body in served.items() if body["variant"] == key] for key in ("control", "popularity")
    }
    assert by_variant["control"]
    assert by_variant["popularity"]
    for row in TrackedEvent.objects.filter(type="impression"):
        assert row.context["variant"] == served[row.user_id]["variant"]
        assert row.context["request_id"] == served[row.user_id]["request_id"]
    # Every control person clicks the concert, nobody in the other arm does.
    for someone in people:
        if someone.pk in by_variant["control"]:
            track(someone, "click", concert, request_id=served[someone.pk]["request_id"], rank=1)
    results = analytics_selectors.experiment_results(experiment=experiment)
    rates = {variant.key: (variant.units, variant.conversions) for variant in results.primary.variants}
    assert rates == {
        "control": (len(by_variant["control"]), len(by_variant["control"])),
        "popularity": (len(by_variant["popularity"]), 0),
    }


def test_without_a_running_experiment_nobody_is_assigned(client_for) -> None:
    make_experiment("recommendations-ranker", variants=VARIANTS, metric="click", status="stopped")
    event("Jazz night")
    body = client_for(person(interests=["music"])).get(URL).json()
    assert body["variant"] is None
    assert body["ranker"] == "content"
