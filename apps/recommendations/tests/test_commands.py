"""`manage.py recommend`: the API's body for a person, as its last line with --json, and clear refusals."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.analytics.models import TrackedEvent
from apps.recommendations.tests.factories import event, person

pytestmark = pytest.mark.django_db


def test_recommend_json_is_the_apis_body_for_that_person(client_for) -> None:  # type: ignore[no-untyped-def]
    event("Jazz night")
    event("Flea market", category="markets", is_free=True, price_min=None)
    someone = person(interests=["music"])
    out = io.StringIO()
    call_command("recommend", someone.email, "--json", stdout=out)
    printed = json.loads(out.getvalue().strip().splitlines()[-1])
    assert not TrackedEvent.objects.filter(type="impression").exists()  # an operator's look tracks nothing

    served = client_for(someone).get("/api/v1/recommendations").json()

    assert printed.pop("request_id") != served.pop("request_id")
    assert printed == served


def test_recommend_prints_a_readable_list_and_refuses_what_it_cannot_do() -> None:
    event("Jazz night")
    someone = person(interests=["music"])
    out = io.StringIO()
    call_command("recommend", someone.email, "--ranker", "popularity", stdout=out)
    assert f"1 event for {someone.email} by popularity:" in out.getvalue()
    assert "Jazz night" in out.getvalue()
    with pytest.raises(CommandError, match="No account"):
        call_command("recommend", "nobody@example.test")
    with pytest.raises(CommandError, match="Unknown ranker"):
        call_command("recommend", someone.email, "--ranker", "oracle")
    with pytest.raises(CommandError, match="--limit"):
        call_command("recommend", someone.email, "--limit", "0")
