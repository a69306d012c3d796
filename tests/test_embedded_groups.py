"""Groups and notifications on the `make run` path (SQLite, tasks in-process, console email, no beat), through the
API in a fresh server process, as a newcomer would try them: two people, a group, an invitation link, availability,
a poll, votes, the winner accepted by both, the iTIP invitation, email settings."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.conf import settings
from icalendar import Calendar


@pytest.fixture
def embedded_env(clean_env, tmp_path):
    return clean_env(DJANGO_SETTINGS_MODULE="planner.settings", VAR_DIR=str(tmp_path))


def _manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )


def _bearer(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    tokens = http.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access']}"}


def test_groups_polls_plans_and_email_settings_work_on_the_embedded_default(embedded_env, start_server):
    _manage(embedded_env, "migrate", "--noinput")
    people = "from apps.users.models import User\n" + "".join(
        f"User.objects.create_user({email!r}, 'a-long-passphrase-1')\n"
        for email in ("ana@example.test", "ben@example.test", "cy@example.test")
    )
    _manage(embedded_env, "shell", "-c", people)
    base = start_server(embedded_env, [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"])

    with httpx.Client(base_url=base, timeout=30) as http:
        ana = _bearer(http, "ana@example.test", "a-long-passphrase-1")
        ben = _bearer(http, "ben@example.test", "a-long-passphrase-1")
        cy = _bearer(http, "cy@example.test", "a-long-passphrase-1")

        created = http.post("/api/v1/groups", json={"name": "Climbing crew"}, headers=ana)
        assert created.status_code == 201, created.text
        group = created.json()["id"]
        invite = http.post(f"/api/v1/groups/{group}/invites", json={}, headers=ana)
        assert invite.status_code == 201, invite.text
        assert invite.json()["url"].endswith(f"/groups/join/{invite.json()['token']}/")
        joined = http.post("/api/v1/groups/join", json={"token": invite.json()["token"]}, headers=ben)
        assert joined.status_code == 200, joined.text
        assert joined.json()["id"] == group
        members = http.get(f"/api/v1/groups/{group}/members", headers=ben).json()["results"]
        assert sorted(member["role"] for member in members) == ["member", "owner"]
        # Not a member: the group does not exist for cy, whatever the method.
        assert http.get(f"/api/v1/groups/{group}", headers=cy).status_code == 404
        assert http.get(f"/api/v1/groups/{group}/availability", headers=cy).status_code == 404

        # Availability over the next three days (the server's real clock: this test starts processes).
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        window = {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(), "min_minutes": 60}
        free = http.get(f"/api/v1/groups/{group}/availability", params=window, headers=ana)
        assert free.status_code == 200, free.text
        [everyone] = free.json()["windows"]  # nobody has plans yet: one window, the whole range, both free
        assert len(everyone["free"]) == 2
        assert everyone["busy_count"] == 0
        bad = http.get(f"/api/v1/groups/{group}/availability", params={**window, "end": "soon"}, headers=ana)
        assert bad.status_code == 400
        assert "end" in bad.text

        # A poll between two windows, both vote, the owner closes it, both accept the winner.
        first, second = start + timedelta(hours=10), start + timedelta(days=1, hours=10)
        options = [{"start": at.isoformat(), "end": (at + timedelta(hours=3)).isoformat()} for at in (first, second)]
        poll = http.post(f"/api/v1/groups/{group}/polls", json={"question": "When?", "options": options}, headers=ben)
        assert poll.status_code == 201, poll.text
        poll_id, option_ids = poll.json()["id"], [option["id"] for option in poll.json()["options"]]
        for who, choices in ((ana, ("no", "yes")), (ben, ("maybe", "yes"))):
            votes = [{"option_id": o, "choice": c} for o, c in zip(option_ids, choices, strict=True)]
            voted = http.put(f"/api/v1/groups/{group}/polls/{poll_id}/votes", json={"votes": votes}, headers=who)
            assert voted.status_code == 200, voted.text
        assert http.post(f"/api/v1/groups/{group}/polls/{poll_id}/close", json={}, headers=ben).status_code == 403
        closed = http.post(f"/api/v1/groups/{group}/polls/{poll_id}/close", json={}, headers=ana)
        assert closed.status_code == 200, closed.text
        plan = closed.json()["group_plan"]
        assert plan["start_utc"].startswith(second.strftime("%Y-%m-%dT%H:%M"))
        for who in (ana, ben):
            answered = http.post(
                f"/api/v1/groups/{group}/plans/{plan['id']}/answer", json={"answer": "accepted"}, headers=who
            )
            assert answered.status_code == 200, answered.text

        invitation = http.get(f"/api/v1/groups/{group}/plans/{plan['id']}/invitation.ics", headers=ben)
        assert invitation.status_code == 200
        assert invitation.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(invitation.content)
        assert str(calendar["METHOD"]) == "REQUEST"
        [event] = calendar.walk("VEVENT")
        attendees = event.get("ATTENDEE")
        assert sorted(str(a.params["PARTSTAT"]) for a in attendees) == ["ACCEPTED", "ACCEPTED"]

        # Email settings: read, changed, a bad value refused by name.
        assert http.get("/api/v1/me/notifications", headers=ben).status_code == 200
        changed = http.patch("/api/v1/me/notifications", json={"weekly_digest": False}, headers=ben)
        assert changed.status_code == 200, changed.text
        assert changed.json()["weekly_digest"] is False
        refused = http.patch("/api/v1/me/notifications", json={"reminder_minutes": -5}, headers=ben)
        assert refused.status_code == 400
        assert "reminder_minutes" in refused.text
