"""Builders for the poll and group-plan tests: a group with members (straight on the models, so these tests do not
depend on how groups are created through the API) and catalogue events."""

from datetime import UTC, datetime, timedelta
from typing import Any

from apps.events import services as event_services
from apps.events.models import Event
from apps.events.tests.factories import item, make_source, venue
from apps.groups.models import Group, Membership, Role
from apps.users.models import User
from apps.users.tests.factories import UserFactory

SATURDAY = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)  # the Saturday after the clock fixture's frozen now


def make_group(owner: User, *members: User, name: str = "Climbing crew") -> Group:
    group = Group.objects.create(name=name)
    Membership.objects.create(group=group, user=owner, role=Role.OWNER)
    for member in members:
        Membership.objects.create(group=group, user=member, role=Role.MEMBER)
    return group


def add_member(group: Group, user: User | None = None) -> User:
    user = user or UserFactory()
    Membership.objects.create(group=group, user=user, role=Role.MEMBER)
    return user


def make_event(provider_id: str = "e1", *, start: datetime = SATURDAY, **fields: Any) -> Event:
    source = make_source(name=f"source-{provider_id}")
    event_services.events_upsert(source=source, items=[item(provider_id, start=start, venue=venue(), **fields)])
    return Event.objects.get(source=source)


def window(hours_from: int = 0, length: int = 3) -> dict[str, str]:
    start = SATURDAY + timedelta(hours=hours_from)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=length)).isoformat()}
