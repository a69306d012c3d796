"""Calendars, plans and subscriptions for tests.

Plans are saved through services.plan_create, so what is derived from a plan (its UTC bounds, the end of its
series, its UID) is stored as in production; `PlanDataFactory` gives the same plan unsaved, as the services
take it. A timed plan starts at `start` (naive wall-clock time in `timezone`) and lasts `minutes`; an all-day
one (all_day=True) starts on `start`'s date and lasts `days`.
"""

from datetime import date, datetime, timedelta
from typing import Any

import factory

from apps.calendars import services
from apps.calendars.ical import PlanData
from apps.calendars.models import Calendar, Plan, Subscription
from apps.users.tests.factories import UserFactory

BERLIN = "Europe/Berlin"
SATURDAY_MORNING = datetime(2026, 12, 5, 10, 0)  # a Saturday well away from the DST changes


class CalendarFactory(factory.django.DjangoModelFactory):
    """Another calendar of a person (their default one comes with the account)."""

    class Meta:
        model = Calendar

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = BERLIN


def _day(moment: date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


class PlanDataFactory(factory.Factory):
    class Meta:
        model = PlanData
        exclude = ("start", "minutes", "days")

    uid = ""
    title = factory.Sequence(lambda n: f"Plan {n}")
    timezone = BERLIN
    all_day = False
    start = SATURDAY_MORNING
    minutes = 60
    days = 1
    start_local = factory.LazyAttribute(lambda o: None if o.all_day else o.start)
    end_local = factory.LazyAttribute(lambda o: None if o.all_day else o.start + timedelta(minutes=o.minutes))
    start_date = factory.LazyAttribute(lambda o: _day(o.start) if o.all_day else None)
    end_date = factory.LazyAttribute(lambda o: _day(o.start) + timedelta(days=o.days) if o.all_day else None)


class PlanFactory(PlanDataFactory):
    """A saved plan: PlanDataFactory's fields, and `calendar` (by default a new person's extra calendar)."""

    class Meta:
        model = PlanData
        exclude = ("start", "minutes", "days")

    calendar = factory.SubFactory(CalendarFactory)

    @classmethod
    def _build(cls, model_class: type[PlanData], *args: Any, **kwargs: Any) -> PlanData:
        kwargs.pop("calendar")
        return model_class(*args, **kwargs)

    @classmethod
    def _create(cls, model_class: type[PlanData], *args: Any, **kwargs: Any) -> Plan:
        calendar = kwargs.pop("calendar")
        return services.plan_create(calendar=calendar, data=model_class(*args, **kwargs))


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscription stored as it is, without the address guard that services.subscription_create runs."""

    class Meta:
        model = Subscription

    calendar = factory.SubFactory(CalendarFactory)
    url = factory.Sequence(lambda n: f"https://93.184.215.14/calendar-{n}.ics")
