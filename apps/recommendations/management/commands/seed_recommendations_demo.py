"""`make run`'s recommendations demo, after `create_demo_account` and `seed_demo`: the demo account gets a profile
(a home at Alexanderplatz, interests, a budget) and a little history on the demo catalogue, a small simulated
population plays the three weekends before today (so the ranker has others' history to learn from), and a model is
trained on it all. Each step is skipped when what it makes is already there, so running it again changes nothing.
"""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.analytics import services as analytics_services
from apps.analytics.models import TrackedEvent
from apps.core.time import weekend_window
from apps.events.models import Event, EventStatus
from apps.recommendations import simulation, training
from apps.recommendations.models import ModelStatus, ModelVersion
from apps.users import services as user_services
from apps.users.management.commands.create_demo_account import DEMO_EMAIL
from apps.users.models import User

TIMEZONE = "Europe/Berlin"
INTERESTS = ["music", "food-drink", "markets"]
PROFILE: dict[str, Any] = {
    "home_address": "Alexanderplatz, Berlin",
    "home_lat": 52.5200,
    "home_lon": 13.4050,
    "timezone": TIMEZONE,
    "interests": INTERESTS,
    "budget": Decimal("40"),
    "currency": "EUR",
    "travel_mode": "transit",
    "max_distance_km": 15,
}
HISTORY_EVENTS = 6  # demo events of the interests the account has looked at
SAVED = 2  # of which it saved the first ones
SIMULATION_SEED = 7
SIMULATION_PEOPLE = 30
SIMULATION_WEEKENDS = 3  # the weekends before today, seeded into the catalogue as history
NAMESPACE = uuid.UUID("6b0a2c34-3c1e-4d8a-9d0e-5f0c1a7e9b21")  # the demo history's tracked ids


class Command(BaseCommand):
    help = (
        "Gives the demo account a profile and some history, simulates a small population over the weekends before "
        "today and trains a recommendation model (outside production; idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=SIMULATION_PEOPLE, help="size of the simulated population")
        parser.add_argument("--no-simulation", action="store_true", help="only the demo account's profile and history")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The recommendations demo is for local use only; refusing under DJANGO_ENV=production.")
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            raise CommandError("There is no demo account: run `manage.py create_demo_account` first.")
        self._profile(user)
        self._history(user)
        simulated = False if options["no_simulation"] else self._simulation(options["people"])
        if simulated:
            self._model()

    # --- The demo account ---------------------------------------------------------------------------------

    def _profile(self, user: User) -> None:
        profile = user.profile
        if profile.home_lat is not None or profile.interests:
            self.stdout.write("Demo profile: already set.")
            return
        user_services.profile_update(profile=profile, data=PROFILE)
        self.stdout.write(f"Demo profile: home {PROFILE['home_address']}, interests {', '.join(INTERESTS)}.")

    def _history(self, user: User) -> None:
        if TrackedEvent.objects.filter(user_id=user.pk, type__in=["click", "save"]).exists():
            self.stdout.write("Demo history: already there.")
            return
        now = timezone.now()
        start, _ = weekend_window("this", TIMEZONE, now=now)
        _, end = weekend_window("next", TIMEZONE, now=now)
        events = list(
            Event.objects.filter(
                canonical__isnull=True,
                start_utc__gte=max(start, now),
                start_utc__lt=end,
                category__in=INTERESTS,
            )
            .exclude(status=EventStatus.CANCELLED)
            .order_by("start_utc", "id")[:HISTORY_EVENTS]
        )
        if not events:
            self.stdout.write("Demo history: no demo events of its interests this or next weekend; none made.")
            return
        tracked = []
        for position, event in enumerate(events):
            at = now - timedelta(minutes=10 * (len(events) - position))
            tracked.append(_tracked("click", event, at))
            if position < SAVED:
                tracked.append(_tracked("save", event, at + timedelta(seconds=30)))
        outcome = analytics_services.tracking_record(events=tracked, user_id=user.pk)
        self.stdout.write(f"Demo history: {outcome.accepted} clicks and saves on {len(events)} events.")

    # --- Others' history and a model --------------------------------------------------------------------------

    def _simulation(self, people: int) -> bool:
        """True when a simulated population is there (made now or before)."""
        prefix = f"sim-{SIMULATION_SEED}-"
        if User.objects.filter(email__startswith=prefix).exists():
            self.stdout.write("Simulated population: already there.")
            return True
        first = timezone.localdate() - timedelta(weeks=SIMULATION_WEEKENDS)
        # The weekends before today, in the catalogue as history (over, so never listed or shown on Discover).
        call_command("seed_demo", date=first, stdout=self.stdout)
        saturdays = simulation.catalogue_weekends(count=SIMULATION_WEEKENDS, start=first)
        if len(saturdays) < SIMULATION_WEEKENDS:
            self.stdout.write("Simulated population: skipped (the catalogue has too few past weekends).")
            return False
        result = simulation.simulate(people=people, seed=SIMULATION_SEED, weekends=SIMULATION_WEEKENDS, start=first)
        summary = result.summary()
        self.stdout.write(
            f"Simulated population: {summary['people']} people over the weekends of {', '.join(summary['weekends'])}: "
            f"{summary['clicks']} clicks, {summary['saves']} saves, {summary['plans']} plans."
        )
        return True

    def _model(self) -> None:
        if ModelVersion.objects.exclude(status=ModelStatus.FAILED).exists():  # a failed run is tried again
            self.stdout.write("Recommendation model: already trained.")
            return
        # train() logs an error and records the failed run; the site still serves (content ranker): make run goes on.
        try:
            row = training.train(now=timezone.now())
        except Exception as error:  # noqa: BLE001
            self.stderr.write(f"Recommendation model: training failed ({type(error).__name__}: {error}).")
            return
        serving = " (serving)" if row.is_current else ""
        self.stdout.write(f"Recommendation model: {row.version} {row.status}{serving}.")


def _tracked(kind: str, event: Event, at: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"{kind}-{event.pk}")),
        "type": kind,
        "at": at.isoformat(),
        "object_type": "event",
        "object_id": str(event.pk),
        "context": {"page": "/discover/"},
    }
