"""Reads of group plans and the members' answers to them (the iTIP PARTSTAT of each attendee)."""

from django.db.models import QuerySet
from django.http import Http404

from apps.calendars import selectors as calendar_selectors
from apps.calendars.conflicts import Conflict
from apps.groups.models import Answer, Attendance, Group, GroupPlan, Membership
from apps.groups.selectors import groups as group_selectors
from apps.users.models import User


def memberships(*, group: Group) -> QuerySet[Membership]:
    """The current members with their users and profiles, the owner first, then by who joined first."""
    return group_selectors.members_of(group=group)


def is_member(*, user: User, group: Group | int) -> bool:
    group_id = group if isinstance(group, int) else group.pk
    return Membership.objects.filter(group_id=group_id, user=user).exists()


display_name = group_selectors.display_name  # what other members see of a person


def group_plans_of(*, group: Group) -> QuerySet[GroupPlan]:
    """The group's plans, soonest first (cancelled ones too: members should see that a plan was called off)."""
    return (
        GroupPlan.objects.filter(group=group).select_related("organizer", "event", "poll").order_by("start_utc", "pk")
    )


def group_plan_of(*, group: Group, plan_id: int) -> GroupPlan:
    """One of the group's plans; any other id (another group's plan too) is a 404."""
    found = group_plans_of(group=group).filter(pk=plan_id).first()
    if found is None:
        raise Http404("No such plan in this group.")
    return found


def attendances_of(*, group_plan: GroupPlan) -> list[Attendance]:
    """One answer per current member, in member order. A member who joined after the plan was made has no row
    yet: they are shown as not answered (an unsaved Attendance), and get a row when they answer. Rows of people
    who left the group are not shown."""
    rows = {a.user_id: a for a in Attendance.objects.filter(group_plan=group_plan)}
    result = []
    for membership in memberships(group=group_plan.group):
        attendance = rows.get(membership.user_id) or Attendance(group_plan=group_plan, answer=Answer.NEEDS_ACTION)
        attendance.user = membership.user  # the user already loaded with their profile
        result.append(attendance)
    return result


def attendance_of(*, group_plan: GroupPlan, user: User) -> Attendance | None:
    return Attendance.objects.filter(group_plan=group_plan, user=user).select_related("calendar_plan").first()


def attendance_conflicts(*, attendance: Attendance) -> list[Conflict]:
    """What the accepted plan clashes with on the member's calendar (accepting never refuses: they chose it)."""
    plan = attendance.calendar_plan
    if plan is None:
        return []
    return calendar_selectors.conflicts_for_plan(owner=attendance.user, plan=plan)
