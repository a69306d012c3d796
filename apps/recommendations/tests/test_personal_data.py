"""A person's feedback is in their export, nobody else's is, and it goes with their account."""

import pytest

from apps.recommendations import services
from apps.recommendations.models import Feedback
from apps.recommendations.tests.factories import event, person
from apps.users import selectors as user_selectors
from apps.users import services as user_services

pytestmark = pytest.mark.django_db


def test_feedback_is_exported_for_its_person_alone_and_erased_with_the_account() -> None:
    concert, market = event("Concert"), event("Market", category="markets")
    someone, other = person(), person()
    services.feedback_record(user=someone, event_id=concert.pk, action="dismiss")
    services.feedback_record(user=other, event_id=market.pk, action="more_like_this")

    exported = user_selectors.user_export(user=someone)["recommendations"]
    assert [(item["event_id"], item["action"]) for item in exported] == [(concert.pk, "dismiss")]

    user_services.user_delete(user=someone)
    assert list(Feedback.objects.values_list("user_id", "action")) == [(other.pk, "more_like_this")]
