"""The `make run` path: no DATABASE_URL, no REDIS_URL. SQLite, a local-memory cache, tasks in-process.

Run in fresh processes, as a newcomer's machine would, so nothing PostgreSQL-only breaks it unnoticed.
"""

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.conf import settings


@pytest.fixture
def embedded_env(clean_env, tmp_path):
    return clean_env(DJANGO_SETTINGS_MODULE="planner.settings", VAR_DIR=str(tmp_path))


def _manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )


def test_make_run_path_serves_the_site_and_the_api(embedded_env, start_server, tmp_path):
    _manage(embedded_env, "migrate", "--noinput")
    demo = _manage(embedded_env, "create_demo_account").stdout
    password = re.search(r"password: (\S+)", demo).group(1)
    seeded = _manage(embedded_env, "seed_demo", "--if-empty").stdout
    assert "created" in seeded, seeded
    # The recommendations demo: the demo account's profile and history, a simulated population and a trained model;
    # a second run finds everything there and changes nothing.
    recommended = _manage(embedded_env, "seed_recommendations_demo").stdout
    assert "Simulated population: 30 people" in recommended, recommended
    assert re.search(r"Recommendation model: \S+ (promoted|refused)", recommended), recommended
    again = _manage(embedded_env, "seed_recommendations_demo").stdout
    assert again.count("already") == 4, again
    # The groups demo: the demo account's group with two friends and their weekend plans, once.
    assert "Demo group: Weekend crew" in _manage(embedded_env, "seed_groups_demo").stdout
    assert _manage(embedded_env, "seed_groups_demo").stdout == "Demo group: already there.\n"
    assert (tmp_path / "db.sqlite3").exists()
    assert (tmp_path / "jwt-private.pem").exists()

    base = start_server(embedded_env, [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"])

    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 200, http.get("/ready").text
        for page in ("/", "/accounts/signup/", "/accounts/login/", "/api/docs/", "/discover/"):
            assert http.get(page).status_code == 200, page

        # The demo catalogue went in through the SQLite path of the bulk upsert, and search works on it.
        events = http.get("/api/v1/events", params={"near": "52.52,13.405", "radius_km": 30, "page_size": 5})
        assert events.status_code == 200, events.text
        assert len(events.json()["results"]) == 5
        assert http.get(f"/events/{events.json()['results'][0]['id']}/").status_code == 200

        # The sign-up form creates an account and logs it in.
        form = http.get("/accounts/signup/").text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        signed_up = http.post(
            "/accounts/signup/",
            data={
                "csrfmiddlewaretoken": csrf,
                "email": "newcomer@example.test",
                "password1": "a-long-passphrase-1",
                "password2": "a-long-passphrase-1",
            },
            headers={"Referer": f"{base}/accounts/signup/"},
        )
        assert signed_up.status_code == 302, signed_up.text[-2000:]
        assert http.get("/profile/").status_code == 200

        # The demo account gets a token and reads /api/v1/me; a forged token is refused.
        tokens = http.post("/api/v1/auth/token", json={"email": "demo@weekendplanner.test", "password": password})
        assert tokens.status_code == 200, tokens.text
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access']}"})
        assert me.status_code == 200
        assert me.json()["email"] == "demo@weekendplanner.test"
        forged = tokens.json()["access"][:-4] + "AAAA"
        assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401

        # The demo account's home page shows its "For you" list, each item with its reasons.
        with httpx.Client(base_url=base, timeout=30) as demo_http:
            login = demo_http.get("/accounts/login/").text
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
            logged_in = demo_http.post(
                "/accounts/login/",
                data={"csrfmiddlewaretoken": csrf, "login": "demo@weekendplanner.test", "password": password},
                headers={"Referer": f"{base}/accounts/login/"},
            )
            assert logged_in.status_code == 302, logged_in.text[-2000:]
            home = demo_http.get("/").text
            assert re.search(r"For you (this|next) weekend", home)  # next, late on Sunday
            assert 0 < home.count('class="for-you-item"') <= 10, home[-3000:]
            assert 'class="chip chip-small"' in home
            assert "Plan my weekend" in home
            groups = demo_http.get("/groups/").text
            crew = re.search(r'href="/groups/(\d+)/"[^>]*>\s*Weekend crew', groups)
            assert crew, groups[-3000:]
            group_page = demo_http.get(f"/groups/{crew.group(1)}/")
            assert group_page.status_code == 200
            assert "Alex" in group_page.text
            assert "Sam" in group_page.text

        # Plan my weekend for the demo account, on SQLite with tasks in-process: stops with travel and reasons.
        bearer = {"Authorization": f"Bearer {tokens.json()['access']}"}
        # Next weekend: wholly ahead and in the demo catalogue whenever the test runs. What is left of this one
        # depends on the hour (late on a Sunday, day hours remain that no demo event fits: an empty plan).
        planned = http.post("/api/v1/itineraries", json={"weekend": "next"}, headers=bearer, timeout=60)
        assert planned.status_code == 201, planned.text
        stops = [stop for day in planned.json()["days"] for stop in day["stops"]]
        assert stops, planned.text
        assert all(stop["reasons"] and stop["travel"]["minutes"] >= 0 for stop in stops)

        # Tracking writes synchronously on SQLite: a batch, then the same batch again (duplicates, not rows).
        batch = {
            "events": [
                {"id": "7d1c2f8e-8a57-4c1f-9d2e-3a6b5c4d1e01", "type": "page_view", "at": "2026-06-17T12:00:00+02:00",
                 "object_type": "page", "object_id": "/discover/"},
                {"id": "7d1c2f8e-8a57-4c1f-9d2e-3a6b5c4d1e02", "type": "nope", "at": "2026-06-17T12:00:00+02:00"},
            ]
        }  # fmt: skip
        first = http.post("/api/v1/track", json=batch, headers=bearer)
        assert first.status_code == 202, first.text
        assert (first.json()["accepted"], first.json()["duplicates"], len(first.json()["refused"])) == (1, 0, 1)
        again = http.post("/api/v1/track", json=batch, headers=bearer)
        assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)

    # Experiments on SQLite: results are computed on request from the raw rows.
    staff_env = {**embedded_env, "DJANGO_SUPERUSER_EMAIL": "staff@example.test", "DJANGO_SUPERUSER_PASSWORD": "pw-x"}
    _manage(staff_env, "createsuperuser", "--noinput")
    with httpx.Client(base_url=base, timeout=30) as http:
        token = http.post("/api/v1/auth/token", json={"email": "staff@example.test", "password": "pw-x"}).json()
        staff = {"Authorization": f"Bearer {token['access']}"}
        design = {
            "key": "embedded",
            "variants": [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 50}],
            "primary_metric": {"event": "save"},
        }
        assert http.post("/api/v1/experiments", json=design, headers=staff).status_code == 201
        assert http.post("/api/v1/experiments/embedded/start", headers=staff).status_code == 200
        seen = {
            http.get("/api/v1/experiments/embedded/assignment", params={"unit_id": f"u{n}"}, headers=staff).json()[
                "variant"
            ]
            for n in range(20)
        }
        assert seen == {"control", "treatment"}
        results = http.get("/api/v1/experiments/embedded/results", headers=staff)
        assert results.status_code == 200, results.text
        assert sum(variant["units"] for variant in results.json()["variants"]) == 20

        # KPIs on SQLite with no beat: the days read are rolled up on request (ANALYTICS_ROLLUP_ON_REQUEST).
        today = datetime.now(UTC).date()
        days = {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}
        signups = http.get("/api/v1/analytics/kpis", params={"metric": "signups", **days}, headers=staff)
        assert signups.status_code == 200, signups.text
        # The newcomer, the demo account, the simulated population and this staff account signed up just now.
        assert sum(point["value"] for point in signups.json()["points"]) >= 3, signups.text
        funnel = http.get("/api/v1/analytics/funnel", params=days, headers=staff)
        assert funnel.status_code == 200, funnel.text
        assert [step["step"] for step in funnel.json()["steps"]] == ["impression", "click", "save", "plan"]
        exported = http.get(
            "/api/v1/analytics/kpis/export", params={"metric": "active_people_daily", **days}, headers=staff
        )
        assert exported.status_code == 200
        assert exported.text.startswith("date,metric,segment,value\n")
