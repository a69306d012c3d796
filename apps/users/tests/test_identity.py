"""The authenticated request's account and profile, read with SQL compiled once: the same objects the ORM's
select_related query builds, in one query."""

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from apps.users.identity import user_with_profile
from apps.users.models import Profile, User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_user_and_profile_equal_what_the_orm_reads_in_one_query() -> None:
    someone = UserFactory()
    someone.profile.interests = ["music", "film"]
    someone.profile.home_lat, someone.profile.home_lon = 52.52, 13.405
    someone.profile.save()
    expected = User.objects.select_related("profile").get(pk=someone.pk)

    with CaptureQueriesContext(connection) as queries:
        found = user_with_profile(someone.pk)
        assert found is not None
        profile = found.profile
        assert profile.user is found
    assert len(queries.captured_queries) == 1

    assert model_to_dict(found) == model_to_dict(expected)
    assert model_to_dict(profile) == model_to_dict(expected.profile)
    assert found.password == expected.password
    assert found.last_login == expected.last_login
    assert not found._state.adding
    assert found._state.db == "default"
    found.profile.display_name = "Saved through the cached profile"
    found.profile.save()
    assert Profile.objects.get(user=someone).display_name == "Saved through the cached profile"


def test_an_unknown_id_is_none_and_an_account_without_profile_has_none() -> None:
    assert user_with_profile(987654321) is None
    someone = UserFactory()
    Profile.objects.filter(user=someone).delete()
    found = user_with_profile(someone.pk)
    assert found is not None
    assert found.email == someone.email
    with pytest.raises(User.profile.RelatedObjectDoesNotExist):
        found.profile  # noqa: B018 - the access is the test
