"""`make run`'s groups demo, after `create_demo_account`: two friends of the demo account (accounts without a
password, homes around Berlin) with a few plans on the coming weekend, and a group of the three meeting at
Alexanderplatz, so the group page has members, a heat map with busy hours, best windows and a link to share.
Run again, it finds the group and changes nothing."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.calendars import services as calendar_services
from apps.calendars.ical import PlanData
from apps.core.time import weekend_window
from apps.groups.models import Group
from apps.groups.services import groups as group_services
from apps.groups.services import invites as invite_services
from apps.users import services as user_services
from apps.users.management.commands.create_demo_account import DEMO_EMAIL
from apps.users.models import User

TIMEZONE = "Europe/Berlin"
GROUP_NAME = "Weekend crew"
MEETING_POINT = ("Alexanderplatz, Berlin", 52.5219, 13.4132)
# (email, name, home) and their plans: (day of the weekend, start hour, hours, title, place or None)
FRIENDS: list[tuple[str, str, tuple[float, float], list[tuple[int, int, int, str, tuple[float, float] | None]]]] = [
    ("alex@weekendplanner.test", "Alex", (52.4986, 13.4030), [
        (0, 10, 2, "Football practice", (52.4722, 13.4003)),
        (1, 12, 2, "Lunch with family", None),
    ]),
    ("sam@weekendplanner.test", "Sam", (52.5400, 13.4120), [
        (0, 14, 3, "Moving a friend's sofa", (52.5450, 13.3550)),
        (1, 9, 2, "Long run", None),
    ]),
]  # fmt: skip


class Command(BaseCommand):
    help = "Gives the demo account a group with two friends and their weekend plans (outside production; idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The groups demo is for local use only; refusing under DJANGO_ENV=production.")
        demo = User.objects.filter(email=DEMO_EMAIL).first()
        if demo is None:
            raise CommandError("There is no demo account: run `manage.py create_demo_account` first.")
        if Group.objects.filter(name=GROUP_NAME, memberships__user=demo).exists():
            self.stdout.write("Demo group: already there.")
            return
        saturday = weekend_window("this", TIMEZONE, now=timezone.now())[0].astimezone(ZoneInfo(TIMEZONE)).date()
        with transaction.atomic():
            name, lat, lon = MEETING_POINT
            group = group_services.group_create(
                owner=demo,
                name=GROUP_NAME,
                description="Saturdays out, Sundays slow.",
                meeting_point=name,
                meeting_lat=lat,
                meeting_lon=lon,
            )
            invite = invite_services.invite_create(group=group, by=demo)
            for email, display_name, home, plans in FRIENDS:
                friend = User.objects.filter(email=email).first() or user_services.user_create(
                    email=email, password=None, display_name=display_name, timezone=TIMEZONE,
                    home_lat=home[0], home_lon=home[1],
                )  # fmt: skip
                if not calendar_services.calendar_ensure_default(owner=friend).plans.exists():
                    self._plans(friend, saturday, plans)
                invite_services.invite_join(token=invite.token, user=friend)
        self.stdout.write(f"Demo group: {GROUP_NAME} with {', '.join(f[1] for f in FRIENDS)}, meeting at {name}.")

    def _plans(self, friend: User, saturday: date, plans: list[Any]) -> None:
        calendar = calendar_services.calendar_ensure_default(owner=friend)
        for day, hour, hours, title, place in plans:
            start = datetime.combine(saturday + timedelta(days=day), time(hour))
            data = PlanData(uid="", title=title, timezone=TIMEZONE, start_local=start,
                            end_local=start + timedelta(hours=hours))  # fmt: skip
            if place is not None:
                data.lat, data.lon = place
            calendar_services.plan_create(calendar=calendar, data=data)
