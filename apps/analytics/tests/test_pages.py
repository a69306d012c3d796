"""The staff page of an experiment's results and the admin: staff see them, nobody else does."""

import pytest
from django.urls import reverse

from apps.analytics.models import Experiment, ExperimentStatus, Exposure
from apps.analytics.tests.factories import convert, expose, make_experiment, staff_user
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(staff_user())
    return client


@pytest.fixture
def admin_client(client):
    client.force_login(staff_user(is_superuser=True))  # the admin's lists also need the model permissions
    return client


@pytest.fixture
def running():
    experiment = make_experiment("ranker-v2", status="running", guardrails=["dismiss"])
    variants = expose(experiment, [f"u{n}" for n in range(400)])
    convert([unit for unit, variant in variants.items() if variant == "treatment" and int(unit[1:]) % 3 == 0])
    return experiment


def results_url(key: str) -> str:
    return reverse("admin:analytics_experiment_results", args=[key])


def test_staff_see_the_results_page_in_the_sites_layout(staff_client, running):
    response = staff_client.get(results_url("ranker-v2"))
    assert response.status_code == 200
    page = response.content.decode()
    shown = ("Experiment ranker-v2", 'class="site-header"', "Primary metric: save", "Guardrail: dismiss",
             'data-variant="control"', 'data-variant="treatment"', "Higher than control",
             "analytics/results.css")  # fmt: skip
    assert [text for text in shown if text not in page] == []
    assert "Sample ratio mismatch" not in page


def test_the_page_warns_of_a_sample_ratio_mismatch(staff_client):
    experiment = make_experiment("skewed", status="running")
    Exposure.objects.bulk_create(
        [Exposure(experiment=experiment, unit_id=f"c{n}", variant="control") for n in range(300)]
        + [Exposure(experiment=experiment, unit_id=f"t{n}", variant="treatment") for n in range(150)]
    )
    assert "Sample ratio mismatch" in staff_client.get(results_url("skewed")).content.decode()


def test_an_unknown_experiment_is_a_404_for_staff(staff_client):
    assert staff_client.get(results_url("nope")).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, running):
    response = client.get(results_url("ranker-v2"), follow=True)
    assert response.redirect_chain
    assert response.status_code == 200
    assert "/accounts/login/" in response.redirect_chain[-1][0]
    assert "Experiment ranker-v2" not in response.content.decode()


def test_people_who_are_not_staff_are_refused(client, running):
    client.force_login(UserFactory())
    response = client.get(results_url("ranker-v2"), follow=True)
    # Sent to the admin's log-in, which refuses a signed-in person who is not staff.
    assert response.redirect_chain[0][0].startswith("/admin/login/")
    assert response.status_code == 403
    assert "Experiment ranker-v2" not in response.content.decode()


def test_the_admin_lists_experiments_with_a_link_to_their_results(admin_client, running):
    page = admin_client.get("/admin/analytics/experiment/").content.decode()
    assert "ranker-v2" in page
    assert results_url("ranker-v2") in page
    change = admin_client.get(f"/admin/analytics/experiment/{running.pk}/change/").content.decode()
    assert results_url("ranker-v2") in change
    for url in ("/admin/analytics/exposure/", "/admin/analytics/conversion/"):
        assert admin_client.get(url).status_code == 200, url
    exposure = Exposure.objects.first()
    assert admin_client.get("/admin/analytics/exposure/add/").status_code == 403
    response = admin_client.post(f"/admin/analytics/exposure/{exposure.pk}/change/", {"variant": "control"})
    assert response.status_code == 403


def test_the_admin_starts_and_stops_through_the_services(admin_client):
    draft = make_experiment("from-admin")
    response = admin_client.post(
        "/admin/analytics/experiment/", {"action": "start", "_selected_action": [draft.pk]}, follow=True
    )
    assert "Started from-admin." in response.content.decode()
    response = admin_client.post(
        "/admin/analytics/experiment/", {"action": "start", "_selected_action": [draft.pk]}, follow=True
    )
    assert "it cannot become running" in response.content.decode()
    admin_client.post("/admin/analytics/experiment/", {"action": "stop", "_selected_action": [draft.pk]})
    assert Experiment.objects.get().status == ExperimentStatus.STOPPED


def test_the_admin_adds_a_draft_and_checks_its_design(admin_client):
    form = {
        "key": "added",
        "description": "",
        "variants": '[{"key": "control", "weight": 50}, {"key": "b", "weight": 40}]',
        "primary_metric": '{"event": "save"}',
        "guardrails": "[]",
    }
    response = admin_client.post("/admin/analytics/experiment/add/", form)
    assert response.status_code == 200
    assert "The weights must add up to 100; they add up to 90." in response.content.decode()
    form["variants"] = '[{"key": "control", "weight": 50}, {"key": "b", "weight": 50}]'
    assert admin_client.post("/admin/analytics/experiment/add/", form).status_code == 302
    added = Experiment.objects.get(key="added")
    assert added.status == ExperimentStatus.DRAFT
    assert len(added.salt) == 32
