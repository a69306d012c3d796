"""The API keeps its own OpenAPI contract: Schemathesis, run as an outside client would, finds nothing.

A real server (gunicorn on 127.0.0.1, on the pytest-django test database and this run's Redis) and a real person
with calendars, plans (one a weekly series), a catalogue event and a subscription, so that path parameters
resolve. The Schemathesis CLI reads the served schema (/api/schema/) and the repository's schemathesis.toml,
plus the ids made here, and runs `--checks all` against every operation twice, both runs at once:

- signed in (a real access JWT from POST /api/v1/auth/token), except DELETE /api/v1/me and
  POST /api/v1/auth/logout, which would end the session for the operations after them;
- anonymously, every operation.

Any failure fails the test with Schemathesis' report. The run is bounded and reproducible: SCHEMATHESIS_SEED
(default below), SCHEMATHESIS_MAX_EXAMPLES per operation (default below) and SCHEMATHESIS_PHASES (by default
without the coverage phase, which tries every value of every enum: hundreds of time zones). `make fuzz` runs
the same test longer, with every phase. The server's rate limits (RATE_LIMIT_MAX, AUTH_RATE_LIMIT_PER_MINUTE)
are raised so that the limits do not answer in place of the views; 429 is declared all the same.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from conftest import ARTIFACTS, ROOT
from scripts.support.databases import database_url
from scripts.support.gunicorn import gunicorn_command

DEFAULT_SEED = 20261204
DEFAULT_MAX_EXAMPLES = 80
DEFAULT_PHASES = "examples,fuzzing,stateful"
PASSWORD = "contract-test-password-9"
# These end the signed-in session, so only the anonymous run calls them.
SESSION_ENDING = ["me_destroy", "auth_logout_create"]

pytestmark = pytest.mark.django_db(transaction=True)  # the server process reads what the test commits


@dataclass(frozen=True)
class Seeded:
    email: str
    calendar: int
    spare_calendar: int
    series: int
    recurrence_id: str
    spare_plan: int
    event: int
    subscription: int
    spare_subscription: int
    itinerary: int
    spare_itinerary: int
    stop: int
    spare_stop: int
    groups: "SeededGroups"


@dataclass(frozen=True)
class SeededGroups:
    group: int
    spare_group: int
    handover_group: int
    spare_member: int
    invite: int
    spare_invite: int
    poll: int
    plan: int
    spare_plan: int


def seed() -> Seeded:
    """One person and what the path parameters name; a spare of each thing an operation deletes."""
    from apps.calendars import services as calendar_services
    from apps.calendars.ical import PlanData
    from apps.events import services as event_services
    from apps.events.tests.factories import item, make_source
    from apps.users import services as user_services

    user = user_services.user_create(email="contract@example.test", password=PASSWORD, timezone="Europe/Berlin")
    calendar = calendar_services.calendar_ensure_default(owner=user)
    spare_calendar = calendar_services.calendar_create(owner=user, name="Spare")

    def plan(title: str, start: datetime, end: datetime, **fields: object) -> int:
        data = PlanData(uid="", title=title, timezone="Europe/Berlin", start_local=start, end_local=end, **fields)  # type: ignore[arg-type]
        return calendar_services.plan_create(calendar=calendar, data=data).pk

    start = datetime(2026, 6, 6, 10, 0)
    series = plan("Brunch", start, datetime(2026, 6, 6, 12, 0), rrule="FREQ=WEEKLY;COUNT=10", exdates=[])
    plan("Museum", datetime(2026, 6, 6, 11, 0), datetime(2026, 6, 6, 13, 0), lat=52.52, lon=13.40)
    spare_plan = plan("Spare", datetime(2026, 6, 7, 9, 0), datetime(2026, 6, 7, 10, 0))
    calendar_services.plan_create(
        calendar=calendar,
        data=PlanData(
            uid="", title="Market day", timezone="Europe/Berlin", all_day=True,
            start_date=date(2026, 6, 13), end_date=date(2026, 6, 14),
        ),
    )  # fmt: skip

    result = event_services.events_upsert(
        source=make_source(name="contract"), items=[item("contract-1", start=datetime(2026, 6, 13, 18, tzinfo=UTC))]
    )
    itinerary, spare_itinerary, stop, spare_stop = seed_itineraries(user, calendar, result.touched_event_ids[0])
    groups = seed_groups(user, result.touched_event_ids[0])
    subscription = calendar_services.subscription_create(calendar=calendar, url="https://93.184.215.14/public.ics")
    spare_subscription = calendar_services.subscription_create(calendar=calendar, url="https://93.184.215.14/spare.ics")
    return Seeded(
        email=user.email,
        calendar=calendar.pk,
        spare_calendar=spare_calendar.pk,
        series=series,
        recurrence_id=start.isoformat(),
        spare_plan=spare_plan,
        event=result.touched_event_ids[0],
        subscription=subscription.pk,
        spare_subscription=spare_subscription.pk,
        itinerary=itinerary,
        spare_itinerary=spare_itinerary,
        stop=stop,
        spare_stop=spare_stop,
        groups=groups,
    )


def seed_groups(user, event_id: int) -> SeededGroups:  # type: ignore[no-untyped-def]
    """A group the person owns with two more members (one the spare a member DELETE removes), an invitation link, an
    open poll, a group plan; a spare of the group, the link and the plan for the DELETEs; and a group to hand over."""
    from apps.groups.services import groups as group_services
    from apps.groups.services import invites as invite_services
    from apps.groups.services import plans as plan_services
    from apps.groups.services import polls as poll_services
    from apps.users import services as user_services

    group = group_services.group_create(owner=user, name="Contract crew")
    spare_group = group_services.group_create(owner=user, name="Spare crew")
    handover_group = group_services.group_create(owner=user, name="Handover crew")
    invite = invite_services.invite_create(group=group, by=user)
    spare_invite = invite_services.invite_create(group=group, by=user)
    friend = user_services.user_create(email="friend@example.test", password=PASSWORD, timezone="Europe/Berlin")
    spare_member = user_services.user_create(email="spare@example.test", password=PASSWORD, timezone="UTC")
    for member in (friend, spare_member):
        invite_services.invite_join(token=invite.token, user=member)
    invite_services.invite_join(token=invite_services.invite_create(group=handover_group, by=user).token, user=friend)
    saturday = datetime(2026, 6, 13, 10, tzinfo=UTC)
    options = [
        {"event_id": event_id},
        {"start": saturday.isoformat(), "end": (saturday + timedelta(hours=3)).isoformat()},
    ]
    poll = poll_services.poll_create(group=group, by=friend, question="Which?", options=options)
    plan, spare_plan = (
        plan_services.group_plan_create(
            group=group, by=user, title=title, start_utc=saturday, end_utc=saturday + timedelta(hours=2)
        )
        for title in ("Picnic", "Spare picnic")
    )
    return SeededGroups(
        group=group.pk,
        spare_group=spare_group.pk,
        handover_group=handover_group.pk,
        spare_member=spare_member.pk,
        invite=invite.pk,
        spare_invite=spare_invite.pk,
        poll=poll.pk,
        plan=plan.pk,
        spare_plan=spare_plan.pk,
    )


def seed_itineraries(user, calendar, event_id: int) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """An itinerary of that weekend with an accepted stop (on the calendar) and a pinned one (the spare a DELETE
    takes; a replan keeps both), and a spare itinerary. Stored as they are: the weekend is past by the real clock."""
    from apps.calendars import services as calendar_services
    from apps.core.geo import LatLon
    from apps.events.models import Event
    from apps.itineraries.ask import Ask
    from apps.itineraries.models import Itinerary, Stop

    saturday = datetime(2026, 6, 13, tzinfo=UTC)
    ask = Ask(start=saturday, end=datetime(2026, 6, 15, tzinfo=UTC), timezone="Europe/Berlin",
              origin=LatLon(52.52, 13.405), origin_is_home=False, travel_mode="transit", pace="balanced", budget=None,
              currency="EUR")  # fmt: skip
    made = [
        Itinerary.objects.create(owner=user, status="accepted", request=ask.as_json(), timezone="Europe/Berlin")
        for _ in range(2)
    ]
    event = Event.objects.get(pk=event_id)
    other = Event.objects.create(title="Contract matinee", start_utc=saturday.replace(hour=9), timezone="Europe/Berlin",
                                 lat=52.51, lon=13.40)  # fmt: skip
    stops = []
    for position, (shown, accepted) in enumerate(((event, True), (other, False)), start=1):
        begin, finish = shown.start_utc, shown.end_utc or shown.start_utc + timedelta(hours=2)
        plan = calendar_services.plan_from_event(calendar=calendar, event=shown) if accepted else None
        stops.append(
            Stop.objects.create(
                itinerary=made[0],
                event=shown,
                day=begin.date(),
                position=position,
                arrive=begin,
                start=begin,
                end=finish,
                leave=finish,
                travel_mode="transit",
                travel_minutes=10,
                pinned=not accepted,
                plan=plan,
            )
        )
    return made[0].pk, made[1].pk, stops[0].pk, stops[1].pk


def config_file(directory: Path, ids: Seeded) -> Path:
    """The repository's schemathesis.toml, plus the ids of this database (deleting operations get spares)."""
    per_operation = {
        "calendars_destroy": {"path.calendar_id": ids.spare_calendar},
        "calendars_plans_destroy": {"path.plan_id": ids.spare_plan},
        "calendars_subscriptions_destroy": {"path.subscription_id": ids.spare_subscription},
        "itineraries_destroy": {"path.itinerary_id": ids.spare_itinerary},
        "itineraries_stops_destroy": {"path.itinerary_id": ids.itinerary, "path.stop_id": ids.spare_stop},
        "groups_destroy": {"path.group_id": ids.groups.spare_group},
        # A body naming a member (ids are small) hands the group over: not the group the owner-only operations use.
        "groups_owner_create": {"path.group_id": ids.groups.handover_group},
        "groups_members_destroy": {"path.user_id": ids.groups.spare_member},
        "groups_invites_destroy": {"path.invite_id": ids.groups.spare_invite},
        "groups_plans_destroy": {"path.plan_id": ids.groups.spare_plan},
        # plan_id above names the calendars' plan; a group plan's operations name theirs.
        **{
            f"groups_plans_{name}": {"path.plan_id": ids.groups.plan}
            for name in ("retrieve", "partial_update", "answer_create", "invitation.ics_retrieve")
        },
    }
    lines = [
        (ROOT / "schemathesis.toml").read_text(),
        "",
        "[parameters]",
        f'"path.calendar_id" = {ids.calendar}',
        f'"path.plan_id" = {ids.series}',
        f'"path.recurrence_id" = "{ids.recurrence_id}"',
        f'"path.event_id" = {ids.event}',
        f'"path.subscription_id" = {ids.subscription}',
        f'"path.itinerary_id" = {ids.itinerary}',
        f'"path.stop_id" = {ids.stop}',
        f'"path.group_id" = {ids.groups.group}',
        f'"path.invite_id" = {ids.groups.invite}',
        f'"path.poll_id" = {ids.groups.poll}',
    ]
    for operation_id, parameters in per_operation.items():
        values = ", ".join(f'"{name}" = {value}' for name, value in parameters.items())
        lines += ["", "[[operations]]", f'include-operation-id = "{operation_id}"', f"parameters = {{ {values} }}"]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(base: str, config: Path, *, name: str, extra: list[str]) -> tuple[int, str]:
    report_dir = ARTIFACTS / "schemathesis" / name
    report_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(config),
        "run", f"{base}/api/schema/",
        "--checks", "all",
        "--phases", os.environ.get("SCHEMATHESIS_PHASES") or DEFAULT_PHASES,
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES") or str(DEFAULT_MAX_EXAMPLES),
        "--seed", os.environ.get("SCHEMATHESIS_SEED") or str(DEFAULT_SEED),
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-dir", str(report_dir),
        *extra,
    ]  # fmt: skip
    # Schemathesis reads a schemathesis.toml in the working directory too; the one given above is the one.
    completed = subprocess.run(command, cwd=config.parent, capture_output=True, text=True, check=False)
    output = completed.stdout + completed.stderr
    (report_dir / "output.txt").write_text(output)  # the summary (operations, test cases) of a passing run too
    return completed.returncode, output


def purge_broker_queues() -> None:
    """New subscriptions queued their first refresh; no worker of this test takes it."""
    from planner.celery import QUEUES, app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        for queue in QUEUES:
            conn.default_channel.queue_purge(queue)


@pytest.mark.timeout(int(os.environ.get("SCHEMATHESIS_TIMEOUT") or 900))
def test_the_api_keeps_its_openapi_contract(start_server, clean_env, tmp_path):  # type: ignore[no-untyped-def]
    (ARTIFACTS / "schemathesis").mkdir(parents=True, exist_ok=True)
    ids = seed()
    env = clean_env(
        DJANGO_SETTINGS_MODULE="planner.test_settings",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        RATE_LIMIT_MAX="1000000",
        AUTH_RATE_LIMIT_PER_MINUTE="1000000",
        # The token is made once, before both runs; it must outlive a long `make fuzz`.
        JWT_ACCESS_MINUTES="720",
    )
    # Gunicorn refuses request lines over 4094 bytes with its own HTML 414, before the application (in production
    # the load balancer limits URLs too); the contract is the application's, so that limit is lifted here.
    argv = gunicorn_command("127.0.0.1:{port}", "--workers", "2", "--timeout", "60", "--limit-request-line", "0")
    base = start_server(env, argv, log=ARTIFACTS / "schemathesis" / "server.log")
    token = httpx.post(f"{base}/api/v1/auth/token", json={"email": ids.email, "password": PASSWORD}, timeout=30)
    assert token.status_code == 200, token.text
    config = config_file(tmp_path, ids)

    try:
        failures = []
        signed_in = ["--header", f"Authorization: Bearer {token.json()['access']}"]
        for operation_id in SESSION_ENDING:
            signed_in += ["--exclude-operation-id", operation_id]
        # The two runs at once, one per server worker: a run's client and the server take turns, so one run keeps
        # about one CPU busy, and in turn they took 5.5 and 3.2 minutes. Every answer must keep the contract
        # whatever the other run wrote meanwhile, as with any two clients.
        runs = {"signed-in": signed_in, "anonymous": []}
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            results = pool.map(lambda name: (name, *run_schemathesis(base, config, name=name, extra=runs[name])), runs)
            for name, code, output in results:
                if code != 0:
                    failures.append(f"===== Schemathesis, {name} (exit {code}) =====\n{output}")
    finally:
        purge_broker_queues()
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
