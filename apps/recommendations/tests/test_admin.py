"""Operators see every training run and people's feedback in the admin, and change neither there."""

import pytest

from apps.analytics.tests.factories import staff_user
from apps.recommendations import services
from apps.recommendations.models import ModelStatus, ModelVersion
from apps.recommendations.tests.factories import event, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):  # type: ignore[no-untyped-def]
    client.force_login(staff_user(is_superuser=True))
    return client


def test_training_runs_and_feedback_are_listed_read_only(admin_client) -> None:  # type: ignore[no-untyped-def]
    run = ModelVersion.objects.create(
        version="20260617-100000-abcd", status=ModelStatus.REFUSED, metrics={"ndcg@10": 0.31}, note="worse"
    )
    services.feedback_record(user=person(), event_id=event("Jazz night").pk, action="dismiss")

    listing = admin_client.get("/admin/recommendations/modelversion/").content.decode()
    assert "20260617-100000-abcd" in listing
    assert "0.31" in listing
    assert admin_client.get(f"/admin/recommendations/modelversion/{run.pk}/change/").status_code == 200
    assert "Jazz night" in admin_client.get("/admin/recommendations/feedback/").content.decode()
    assert admin_client.get("/admin/recommendations/modelversion/add/").status_code == 403
    admin_client.post(f"/admin/recommendations/modelversion/{run.pk}/change/", {"status": "promoted"})
    run.refresh_from_db()
    assert run.status == ModelStatus.REFUSED
