"""/api/v1/me: the flat profile, its validation, the export and the deletion."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.users import services
from apps.users.models import Profile, User

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me"


def test_me_needs_authentication(api_client):
    response = api_client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_me_shows_the_profile_flat(auth_client, user):
    body = auth_client.get(ME_URL).json()
    assert body == {
        "id": user.pk,
        "email": user.email,
        "display_name": "",
        "home_address": "",
        "home_lat": None,
        "home_lon": None,
        "timezone": "UTC",
        "interests": [],
        "budget": None,
        "currency": "EUR",
        "travel_mode": "transit",
        "max_distance_km": 25,
    }


def test_patch_updates_the_profile(auth_client, user):
    response = auth_client.patch(
        ME_URL,
        {
            "display_name": "Ana",
            "home_address": "Alexanderplatz 1, Berlin",
            "home_lat": 52.5219,
            "home_lon": 13.4132,
            "timezone": "Europe/Berlin",
            "interests": ["music", "food-drink", "music"],
            "budget": "120.50",
            "currency": "EUR",
            "travel_mode": "bike",
            "max_distance_km": 15,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["interests"] == ["music", "food-drink"]
    profile = Profile.objects.get(user=user)
    assert profile.timezone == "Europe/Berlin"
    assert profile.budget == Decimal("120.50")
    assert (profile.home_lat, profile.home_lon) == (52.5219, 13.4132)
    assert profile.travel_mode == "bike"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"home_lat": 90.5, "home_lon": 10}, "home_lat"),
        ({"home_lat": 10, "home_lon": -180.01}, "home_lon"),
        ({"home_lat": 10}, "home_lon"),
        ({"budget": "-1"}, "budget"),
        ({"budget": "abc"}, "budget"),
        ({"interests": ["music", "knitting"]}, "interests"),
        ({"interests": "music"}, "interests"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "eur"}, "currency"),
        ({"travel_mode": "teleport"}, "travel_mode"),
        ({"max_distance_km": 0}, "max_distance_km"),
    ],
)
def test_invalid_profile_input_is_400_naming_the_field_and_stores_nothing(auth_client, user, payload, field):
    before = Profile.objects.values().get(user=user)

    response = auth_client.patch(ME_URL, {"display_name": "Changed", **payload}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert Profile.objects.values().get(user=user) == before


def test_malformed_json_is_400(auth_client):
    response = auth_client.generic("PATCH", ME_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.dictionaries(
        st.sampled_from(["timezone", "home_lat", "home_lon", "budget", "interests", "currency", "max_distance_km"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),  # JSON itself cannot carry NaN or infinity
            st.text(max_size=30),
            st.lists(st.text(max_size=10), max_size=3),
        ),
    )
)
def test_no_profile_input_causes_a_server_error(auth_client, payload):
    response = auth_client.patch(ME_URL, payload, format="json")
    assert response.status_code in (200, 400), response.content


def test_export_holds_the_account_and_profile(auth_client, user):
    services.profile_update(profile=user.profile, data={"display_name": "Ana", "interests": ["film"]})

    response = auth_client.get(f"{ME_URL}/export")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.json()
    assert body["account"]["email"] == user.email
    assert body["profile"]["display_name"] == "Ana"
    assert body["profile"]["interests"] == ["film"]


def test_export_holds_nobody_else(auth_client, other_user):
    services.profile_update(profile=other_user.profile, data={"display_name": "Someone else"})
    body = auth_client.get(f"{ME_URL}/export").json()
    assert other_user.email not in str(body)
    assert "Someone else" not in str(body)


def test_delete_removes_the_persons_rows(auth_client, user, other_user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    assert OutstandingToken.objects.filter(user=user).exists()

    response = auth_client.delete(ME_URL)

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Profile.objects.filter(user_id=user.pk).exists()
    assert not EmailAddress.objects.filter(user_id=user.pk).exists()
    assert not OutstandingToken.objects.filter(user_id=user.pk).exists()
    assert not OutstandingToken.objects.filter(user__isnull=True).exists()
    # Nobody else is touched, and the old token no longer opens anything.
    assert User.objects.filter(pk=other_user.pk).exists()
    assert auth_client.get(ME_URL).status_code == 401


def test_an_error_quoting_a_lone_surrogate_is_400_not_500(auth_client):
    # JSON may carry "\ud800"; the message that quotes the value must still encode as UTF-8.
    response = auth_client.generic(
        "PATCH", ME_URL, b'{"timezone": "Mars\\ud800", "currency": "\\udfff"}', content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields.keys() == {"timezone", "currency"}
    assert "Mars\ufffd" in fields["timezone"][0]


def test_json_types_are_taken_as_the_schema_says(auth_client):
    for body, field in (
        ({"max_distance_km": "25"}, "max_distance_km"),
        ({"home_lat": True, "home_lon": 13.4}, "home_lat"),
        ({"display_name": 42}, "display_name"),
        ({"budget": 40}, "budget"),
        ({"timezone": " UTC"}, "timezone"),
    ):
        response = auth_client.patch(ME_URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"]
    response = auth_client.patch(ME_URL, {"budget": "39.9", "max_distance_km": 25.0}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["budget"], response.json()["max_distance_km"]) == ("39.90", 25)
