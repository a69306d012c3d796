"""The mixed load of `make load` (bench/load_mixed.py starts gunicorn and runs this with Locust, headless).

Run by Locust's own interpreter (.venvs/load): it imports nothing of the project. Two kinds of people:
- a visitor, anonymous: the Discover page and the events API (near Berlin, this weekend, a category), an event's
  page and its API answer;
- a person with an account (from LOAD_ACCOUNTS, a JSON list of {"email", "password"}, each account signed in
  once): /api/v1/me, their weekend's occurrences and conflicts, saving a catalogue event to their calendar, and
  importing a small ICS file.
Every answer must be a success (saving an event twice gives the same plan, not an error).
"""

import itertools
import json
import os
import random
import threading
import uuid
from datetime import date, timedelta

from locust import HttpUser, between, task

ACCOUNTS = json.loads(os.environ["LOAD_ACCOUNTS"])
CENTRE = (52.52, 13.405)
CATEGORIES = ("music", "food-drink", "outdoors", "arts-theatre", "nightlife", "family")  # apps.core.taxonomy
_next_account = itertools.count()
_lock = threading.Lock()


def _weekend() -> tuple[str, str]:
    """This weekend's Saturday and the Monday after it, as the dates the window parameters take."""
    today = date.today()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    return saturday.isoformat(), (saturday + timedelta(days=2)).isoformat()


def _near() -> str:
    return f"{CENTRE[0] + random.uniform(-0.05, 0.05):.4f},{CENTRE[1] + random.uniform(-0.08, 0.08):.4f}"


def _ics() -> str:
    uid = uuid.uuid4().hex
    day = date.fromisoformat(_weekend()[0]).strftime("%Y%m%d")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//load//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}@load.test\r\nDTSTAMP:{day}T090000Z\r\nDTSTART:{day}T100000Z\r\nDTEND:{day}T110000Z\r\n"
        "SUMMARY:Brunch\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Visitor(HttpUser):
    weight = 1
    wait_time = between(0.5, 2)

    @task(3)
    def discover(self) -> None:
        self.client.get("/discover/", params={"weekend": "this"}, name="/discover/")

    @task(4)
    def search(self) -> None:
        params = {"near": _near(), "weekend": "this", "category": random.choice(CATEGORIES)}
        answer = self.client.get("/api/v1/events", params=params, name="/api/v1/events")
        results = answer.json().get("results", []) if answer.ok else []
        if results:
            event_id = random.choice(results)["id"]
            self.client.get(f"/events/{event_id}/", name="/events/[id]/")
            self.client.get(f"/api/v1/events/{event_id}", name="/api/v1/events/[id]")


class Person(HttpUser):
    weight = 2
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        with _lock:
            account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        answer = self.client.post("/api/v1/auth/token", json=account, name="/api/v1/auth/token")
        answer.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access']}"
        calendars = self.client.get("/api/v1/calendars", name="/api/v1/calendars").json()["results"]
        self.calendar_id = calendars[0]["id"]
        found = self.client.get("/api/v1/events", params={"weekend": "this", "page_size": 50}, name="/api/v1/events")
        self.event_ids = [event["id"] for event in found.json()["results"]]

    @task(4)
    def me(self) -> None:
        self.client.get("/api/v1/me", name="/api/v1/me")

    @task(3)
    def weekend_occurrences(self) -> None:
        start, end = _weekend()
        self.client.get(
            f"/api/v1/calendars/{self.calendar_id}/occurrences",
            params={"start": start, "end": end},
            name="/api/v1/calendars/[id]/occurrences",
        )

    @task(2)
    def conflicts(self) -> None:
        start, end = _weekend()
        self.client.get("/api/v1/conflicts", params={"start": start, "end": end}, name="/api/v1/conflicts")

    @task(1)
    def save_event(self) -> None:
        if not self.event_ids:
            return
        body = {"event": random.choice(self.event_ids), "calendar": self.calendar_id}
        self.client.post("/api/v1/plans/from-event", json=body, name="/api/v1/plans/from-event")  # twice: the same plan

    @task(1)
    def import_ics(self) -> None:
        self.client.post(
            f"/api/v1/calendars/{self.calendar_id}/import",
            data=_ics(),
            headers={"Content-Type": "text/calendar"},
            name="/api/v1/calendars/[id]/import",
        )
