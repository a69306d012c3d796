"""Writes of group plans: create (directly or by closing a poll), update, cancel, and each member's answer.

An accepted plan is a plan on the member's default calendar, kept in step with the group plan (updated with it,
removed when they decline or it is cancelled). The emails members get about polls and plans are asked for here,
inside the transaction that makes the change, so an outbox row exists exactly when the change does.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone as dj_timezone

from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.ical import PlanData
from apps.calendars.models import Plan
from apps.core.time import FIRST_YEAR, LAST_YEAR
from apps.events.models import Event
from apps.groups import itip
from apps.groups.models import (
    Answer,
    Attendance,
    Group,
    GroupPlan,
    GroupPlanStatus,
    Membership,
    Poll,
    PollOption,
)
from apps.groups.selectors import plans as selectors
from apps.notifications import services as notification_services
from apps.notifications.models import Kind
from apps.users.models import User

# A catalogue event that does not say how long it lasts is taken to last this long (as calendars does).
EVENT_DURATION = timedelta(hours=2)
# What a plan update may change; anything else in `data` is refused.
EDITABLE = ("title", "start_utc", "end_utc", "timezone", "location", "lat", "lon")


class GroupPlanCancelled(Exception):
    """A cancelled plan is final: it is neither changed nor answered any more."""

    def __init__(self) -> None:
        super().__init__("This plan is cancelled.")


class GroupPlanUnplaceable(Exception):
    """Members' calendars cannot hold the plan as it is stored (a time written before group plans were checked on
    their own clock, 84c8261): nobody can accept it until the owner or organizer changes it, which is checked."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"This plan cannot go on a calendar as it stands ({reason}); the group's owner or the plan's organizer "
            "can change its time."
        )


class GroupPlanInputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotAMember(Exception):
    """Only the group's members propose, vote and answer (the API has answered 404 before it gets here)."""

    def __init__(self) -> None:
        super().__init__("Only members of the group can do this.")


def _validated(plan: GroupPlan) -> None:
    """The model's own checks (time zone, coordinates, end after start), as a field-named error."""
    for name in ("start_utc", "end_utc"):
        moment = getattr(plan, name)
        if not isinstance(moment, datetime) or moment.tzinfo is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise GroupPlanInputError(name, f"A date-time with its offset, years {FIRST_YEAR} to {LAST_YEAR}.")
    if plan.end_utc <= plan.start_utc:
        raise GroupPlanInputError("end_utc", "The plan ends after it starts.")
    if (plan.lat is None) != (plan.lon is None):
        raise GroupPlanInputError("lat" if plan.lat is None else "lon", "Give both lat and lon, or neither.")
    try:
        plan.full_clean(exclude=["group", "poll", "organizer", "event", "ical_uid"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise GroupPlanInputError(field, " ".join(messages)) from None
    if problem := clock_problem(plan.start_utc, plan.end_utc, plan.timezone):
        raise GroupPlanInputError(*problem)


def clock_problem(start_utc: datetime, end_utc: datetime, zone: str) -> tuple[str, str] | None:
    """Why members' calendars could not hold a plan on this clock (a valid zone name), as (field, message); None
    when they can. Calendars read a plan on its own clock, where 1600-01-01T00:00Z is still 1599 in Chicago, and
    where a plan within the hour the clocks go back through can end at an earlier time than it starts."""
    tz = ZoneInfo(zone)
    start, end = start_utc.astimezone(tz), end_utc.astimezone(tz)
    for name, moment in (("start_utc", start), ("end_utc", end)):
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            return name, f"On the plan's clock ({zone}), plans fall within the years {FIRST_YEAR} to {LAST_YEAR}."
    if end.replace(tzinfo=None) < start.replace(tzinfo=None):
        return "end_utc", f"On the plan's clock ({zone}), it would end before it starts: the clocks go back between."
    return None


@transaction.atomic
def group_plan_create(
    *,
    group: Group,
    by: User | None,
    title: str,
    start_utc: datetime,
    end_utc: datetime,
    event: Event | None = None,
    timezone: str = "UTC",
    location: str = "",
    lat: float | None = None,
    lon: float | None = None,
    poll: Poll | None = None,
) -> GroupPlan:
    """A plan for the whole group with a not-yet-answered Attendance for every current member, who are told by
    email. Raises GroupPlanInputError naming the field."""
    if by is not None and not selectors.is_member(user=by, group=group):
        raise NotAMember()
    plan = GroupPlan(
        group=group,
        organizer=by,
        title=(title or "").strip(),
        event=event,
        start_utc=start_utc,
        end_utc=end_utc,
        timezone=timezone or "UTC",
        location=location or "",
        lat=lat,
        lon=lon,
        poll=poll,
    )
    if not plan.title:
        raise GroupPlanInputError("title", "Give the plan a title.")
    _validated(plan)
    plan.save()
    Attendance.objects.bulk_create(
        [Attendance(group_plan=plan, user_id=m.user_id) for m in selectors.memberships(group=group)],
        ignore_conflicts=True,
    )
    notify_plan_changed(group_plan=plan, change="created")
    return plan


def _locked(group_plan: GroupPlan) -> GroupPlan:
    locked = (
        GroupPlan.objects.select_for_update(of=("self",))
        .select_related("group", "event", "organizer")
        .get(pk=group_plan.pk)
    )
    if locked.status == GroupPlanStatus.CANCELLED:
        raise GroupPlanCancelled()
    return locked


def _accepted(plan: GroupPlan) -> list[Attendance]:
    return list(
        Attendance.objects.filter(group_plan=plan, answer=Answer.ACCEPTED, calendar_plan__isnull=False)
        .select_related("calendar_plan", "calendar_plan__calendar")
        .order_by("pk")
    )


def _calendar_data(plan: GroupPlan, *, uid: str) -> PlanData:
    """The group plan as a plan on a member's calendar: on the plan's own clock, at its place."""
    zone = ZoneInfo(plan.timezone)
    return PlanData(
        uid=uid,
        title=plan.title,
        notes=f"With {plan.group.name}",
        timezone=plan.timezone,
        start_local=plan.start_utc.astimezone(zone).replace(tzinfo=None),
        end_local=plan.end_utc.astimezone(zone).replace(tzinfo=None),
        location=plan.location,
        lat=plan.lat,
        lon=plan.lon,
    )


@transaction.atomic
def group_plan_update(*, group_plan: GroupPlan, data: dict[str, Any]) -> GroupPlan:
    """Changes the plan (the owner or organizer decides; the API checks), bumps its iTIP SEQUENCE, rewrites the
    accepted members' calendar plans and tells every member; a change to the same values does none of that.
    Raises GroupPlanInputError, GroupPlanCancelled."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise GroupPlanInputError(sorted(unknown)[0], "This field cannot be changed.")
    plan = _locked(group_plan)
    before = {name: getattr(plan, name) for name in EDITABLE}
    for name, value in data.items():
        setattr(plan, name, value.strip() if isinstance(value, str) else value)
    if "title" in data and not plan.title:
        raise GroupPlanInputError("title", "Give the plan a title.")
    _validated(plan)
    if all(getattr(plan, name) == value for name, value in before.items()):
        return plan  # nothing members would see changed: no new SEQUENCE, no email
    plan.sequence += 1
    plan.save()
    for attendance in _accepted(plan):
        calendar_plan = attendance.calendar_plan
        assert calendar_plan is not None
        data_now = replace(calendar_selectors.plan_data_of(calendar_plan), **_calendar_fields(plan))
        calendar_services.plan_update(plan=calendar_plan, data=data_now)
    notify_plan_changed(group_plan=plan, change="updated")
    return plan


def _calendar_fields(plan: GroupPlan) -> dict[str, Any]:
    data = _calendar_data(plan, uid="")
    names = ("title", "timezone", "start_local", "end_local", "location", "lat", "lon")
    return {name: getattr(data, name) for name in names}


@transaction.atomic
def group_plan_cancel(*, group_plan: GroupPlan) -> GroupPlan:
    """Calls the plan off: removes it from the calendars of those who accepted and tells every member (an iTIP
    CANCEL). Cancelling twice changes nothing."""
    try:
        plan = _locked(group_plan)
    except GroupPlanCancelled:
        return group_plan
    for attendance in _accepted(plan):
        assert attendance.calendar_plan is not None
        calendar_services.plan_delete(plan=attendance.calendar_plan)
    plan.status = GroupPlanStatus.CANCELLED
    plan.sequence += 1
    plan.save(update_fields=["status", "sequence", "updated_at"])
    notify_plan_changed(group_plan=plan, change="cancelled")
    group_plan.status, group_plan.sequence = plan.status, plan.sequence
    return plan


def _put_on_calendar(plan: GroupPlan, user: User) -> Plan | None:
    """The plan on the member's default calendar; None when they had saved that catalogue event themselves
    already (their own plan stays theirs: declining later does not remove it)."""
    calendar = calendar_services.calendar_ensure_default(owner=user)
    if plan.event is not None:
        uid = f"event-{plan.event.pk}@{calendar_services.UID_DOMAIN}"  # what plan_from_event saves it under
        already = Plan.objects.filter(calendar=calendar, ical_uid=uid).exists()
        saved = calendar_services.plan_from_event(calendar=calendar, event=plan.event)
        if already:
            return None
        if (saved.start_utc, saved.end_utc) != (plan.start_utc, plan.end_utc):  # the group moved it since
            data = replace(calendar_selectors.plan_data_of(saved), **_calendar_fields(plan))
            calendar_services.plan_update(plan=saved, data=data)
        return saved
    existing = Plan.objects.filter(calendar=calendar, ical_uid=plan.ical_uid).first()
    if existing is not None:
        return existing
    return calendar_services.plan_create(calendar=calendar, data=_calendar_data(plan, uid=plan.ical_uid))


@transaction.atomic
def attendance_answer(*, group_plan: GroupPlan, user: User, answer: str) -> Attendance:
    """The member accepts (the plan goes on their default calendar, also when it clashes with their other plans:
    they chose it; selectors.attendance_conflicts says what with) or declines (it comes off). Answering again
    is fine. A member who joined after the plan was made gets their Attendance here. Raises GroupPlanCancelled,
    GroupPlanUnplaceable."""
    if answer not in (Answer.ACCEPTED, Answer.DECLINED):
        raise GroupPlanInputError("answer", f"One of {Answer.ACCEPTED}, {Answer.DECLINED}.")
    plan = _locked(group_plan)
    if not selectors.is_member(user=user, group=plan.group_id):
        raise NotAMember()
    attendance, _ = Attendance.objects.select_related("calendar_plan").get_or_create(group_plan=plan, user=user)
    if answer == Answer.ACCEPTED and attendance.calendar_plan is None:
        try:
            attendance.calendar_plan = _put_on_calendar(plan, user)
        except calendar_services.PlanInputError as exc:  # this function is atomic: nothing of the answer stays
            raise GroupPlanUnplaceable(str(exc)) from exc
    elif answer == Answer.DECLINED and attendance.calendar_plan is not None:
        calendar_services.plan_delete(plan=attendance.calendar_plan)
        attendance.calendar_plan = None
    attendance.answer = answer
    attendance.answered_at = dj_timezone.now()
    attendance.save()
    attendance.user = user
    return attendance


# --- Emails -------------------------------------------------------------------------------------------------
# notifications cannot import groups, so each message gets everything it shows in its context: names, labels and
# absolute links, never a member's private plans.


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _option_label(option: PollOption) -> str:
    return option.label or (option.event.title if option.event is not None else str(option))


def _poll_context(poll: Poll, options: list[PollOption]) -> dict[str, object]:
    return {
        "group_name": poll.group.name,
        "question": poll.question,
        "options": [_option_label(o) for o in options],
        "winner": _option_label(poll.winner) if poll.winner is not None else "",
        "url": _url(reverse("group-poll", args=[poll.group_id, poll.pk])),
    }


def _notify_members(kind: str, memberships: list[Membership], key: str, context: dict[str, object]) -> None:
    """One email of `kind` per member, stored in one batch (notify_many: a constant number of queries);
    `key` is formatted with each member's user id."""
    requests = [
        notification_services.NotifyRequest(key=key.format(user=m.user_id), user=m.user, context=context)
        for m in memberships
    ]
    if requests:
        notification_services.notify_many(kind=kind, requests=requests)


def notify_poll_opened(*, poll: Poll) -> None:
    """Every member but the proposer is asked to vote."""
    context = _poll_context(poll, list(poll.options.select_related("event")))
    others = [m for m in selectors.memberships(group=poll.group) if m.user_id != poll.created_by_id]
    _notify_members(Kind.POLL_OPENED, others, f"poll-opened:{poll.pk}:{{user}}", context)


def notify_poll_closed(*, poll: Poll, options: list[PollOption]) -> None:
    members = list(selectors.memberships(group=poll.group))
    _notify_members(Kind.POLL_CLOSED, members, f"poll-closed:{poll.pk}:{{user}}", _poll_context(poll, options))


def notify_plan_changed(*, group_plan: GroupPlan, change: str) -> None:
    """Every member gets the change with the iTIP invitation (REQUEST, or CANCEL) showing everyone's answer."""
    context: dict[str, object] = {
        "group_name": group_plan.group.name,
        "title": group_plan.title,
        "start": _iso_utc(group_plan.start_utc),
        "end": _iso_utc(group_plan.end_utc),
        "timezone": group_plan.timezone,
        "location": group_plan.location,
        "change": change,
        "url": _url(reverse("group", args=[group_plan.group_id]) + f"#plan-{group_plan.pk}"),
        "ics": itip.invitation_ics(group_plan=group_plan).decode(),
    }
    members = list(selectors.memberships(group=group_plan.group))
    key = f"group-plan:{group_plan.pk}:{group_plan.sequence}:{{user}}"
    _notify_members(Kind.GROUP_PLAN_CHANGED, members, key, context)
