"""The pages people look at: my groups, a group, a poll's live results, and joining by link."""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.time import weekend_window
from apps.groups.availability import Window
from apps.groups.forms import GroupForm, InviteEmailForm, PollForm
from apps.groups.models import Group, Membership, Role, VoteChoice
from apps.groups.selectors import availability as availability_selectors
from apps.groups.selectors import groups as group_selectors
from apps.groups.services import groups as group_services
from apps.groups.services import invites as invite_services
from apps.groups.views import heatmap, reads
from apps.users import selectors as user_selectors
from apps.users.auth import request_user
from apps.users.models import User


@login_required
@require_GET
def groups_page(request: HttpRequest) -> HttpResponse:
    return _groups(request, GroupForm())


def _groups(request: HttpRequest, form: GroupForm, status: int = 200) -> HttpResponse:
    groups = list(group_selectors.groups_of(user=request_user(request)))
    return render(request, "groups/groups.html", {"groups": groups, "form": form}, status=status)


@login_required
@require_POST
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST)
    if not form.is_valid():
        return _groups(request, form, status=400)
    group = group_services.group_create(
        owner=request_user(request), name=form.cleaned_data["name"], description=form.cleaned_data["description"]
    )
    messages.success(request, f"Group “{group.name}” created. Invite people with a link below.")
    return redirect("group", group_id=group.pk)


def which_weekend(request: HttpRequest) -> Literal["this", "next"]:
    return "next" if request.GET.get("weekend") == "next" else "this"


@dataclass
class Weekend:
    """The weekend the group page shows, on the viewer's clock, and what the group can do in it."""

    which: Literal["this", "next"]
    tz: str
    start: datetime
    end: datetime
    days: list[date]
    pieces: list[Window]  # availability windows of no minimum length: the heat map's input
    sharing: int
    best: list[heatmap.BestWindow]
    window_choices: list[tuple[str, str]]
    event_choices: list[tuple[str, str]]


def weekend_for(request: HttpRequest, group: Group, members: list[Membership]) -> Weekend:
    tz = user_selectors.profile_for(user=request_user(request)).timezone
    which = which_weekend(request)
    now = timezone.now()
    start, end = weekend_window(which, tz, now=now)
    saturday = start.astimezone(zoneinfo.ZoneInfo(tz)).date()
    days = [saturday, saturday + timedelta(days=1)]
    sharing = sum(1 for m in members if not m.sharing_paused)
    pieces = availability_selectors.availability(group=group, start=start, end=end, min_minutes=0)
    best = heatmap.best_windows(pieces, days=days, tz=tz, sharing=sharing, not_before=now)
    events = reads.weekend_events(start=start, end=end)
    return Weekend(
        which=which, tz=tz, start=start, end=end, days=days, pieces=pieces, sharing=sharing, best=best,
        window_choices=[(w.value, w.summary) for w in best],
        event_choices=[(f"event:{e.pk}", f"{e.title} ({reads.span(e.start_utc, e.end_utc or e.start_utc, tz)})")
                       for e in events],
    )  # fmt: skip


def poll_form_for(request: HttpRequest, group: Group, data: Any = None) -> PollForm:
    """The poll form offering what the page offers now: the best windows and the weekend's events."""
    weekend = weekend_for(request, group, list(group_selectors.members_of(group=group)))
    return PollForm(data, windows=weekend.window_choices, events=weekend.event_choices)


def group_context(
    request: HttpRequest, group: Group, *, poll_form: PollForm | None = None, email_form: InviteEmailForm | None = None
) -> dict[str, Any]:
    """Everything the group page shows, in a fixed number of queries but the availability selector's one per
    sharing member (docs/benchmarks.md, "Groups: the group page")."""
    viewer = request_user(request)
    now = timezone.now()
    members = list(group_selectors.members_of(group=group))
    me = next((m for m in members if m.user_id == viewer.pk), None)
    if me is None:  # removed between the group's read and this one
        raise Http404("No such group.")
    names = {m.user_id: group_selectors.display_name(m.user) for m in members}
    weekend = weekend_for(request, group, members)
    is_owner = me.role == Role.OWNER
    invites = [
        i
        for i in group_selectors.invites_of(group=group)
        if invite_services.is_usable(i, now=now) and (is_owner or i.created_by_id == viewer.pk)
    ]
    return {
        "group": group,
        "me": me,
        "is_owner": is_owner,
        "members": [{"membership": m, "name": names[m.user_id], "is_me": m.user_id == viewer.pk} for m in members],
        "invites": [{"invite": i, "url": invite_services.invite_url(i.token)} for i in invites],
        "email_form": email_form or InviteEmailForm(),
        "timezone_name": weekend.tz,
        "which": weekend.which,
        "under_way": weekend.start <= now,  # a weekend under way offers only what is left of it
        "days": [dateformat.format(day, "l j F") for day in weekend.days],
        "day_short": [dateformat.format(day, "D j") for day in weekend.days],
        "rows": heatmap.grid(weekend.pieces, days=weekend.days, tz=weekend.tz, sharing=weekend.sharing),
        "show_night": request.GET.get("night") == "1",
        "sharing_count": weekend.sharing,
        "best": weekend.best,
        "polls": reads.polls_for_page(group_id=group.pk, viewer_id=viewer.pk, tz=weekend.tz, names=names),
        "poll_form": poll_form or PollForm(windows=weekend.window_choices, events=weekend.event_choices),
        "vote_choices": VoteChoice.choices,
        "plans": reads.plans_for_page(group_id=group.pk, viewer_id=viewer.pk, tz=weekend.tz, names=names),
    }


@login_required
@require_GET
def group_page(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_selectors.group_of(user=request_user(request), group_id=group_id)
    return render(request, "groups/group.html", group_context(request, group))


def render_group(request: HttpRequest, group: Group, *, status: int, **forms: Any) -> HttpResponse:
    return render(request, "groups/group.html", group_context(request, group, **forms), status=status)


@login_required
@require_GET
def poll_results(request: HttpRequest, group_id: int, poll_id: int) -> HttpResponse:
    """One poll's card (htmx refreshes it every few seconds); without htmx, the group page at that poll."""
    viewer = request_user(request)
    group = group_selectors.group_of(user=viewer, group_id=group_id)
    if not request.headers.get("HX-Request"):
        return redirect(reverse("group", args=[group.pk]) + f"#poll-{poll_id}")
    return render_poll(request, group, poll_id)


def render_poll(
    request: HttpRequest, group: Group, poll_id: int, *, problem: str = "", status: int = 200
) -> HttpResponse:
    viewer = request_user(request)
    tz = user_selectors.profile_for(user=viewer).timezone
    members = list(group_selectors.members_of(group=group))
    names = {m.user_id: group_selectors.display_name(m.user) for m in members}
    poll = reads.poll_for_page(group_id=group.pk, poll_id=poll_id, viewer_id=viewer.pk, tz=tz, names=names)
    if poll is None:
        raise Http404("No such poll.")
    is_owner = any(m.user_id == viewer.pk and m.role == Role.OWNER for m in members)
    context = {"group": group, "p": poll, "is_owner": is_owner, "vote_choices": VoteChoice.choices, "problem": problem}
    return render(request, "groups/_poll.html", context, status=status)


@require_http_methods(["GET", "POST"])
def join_page(request: HttpRequest, token: str) -> HttpResponse:
    """Who invites to which group, and a Join button; an unusable link says so and shows nothing of the group."""
    invite = group_selectors.invite_by_token(token=token)
    if invite is None or not invite_services.is_usable(invite, now=timezone.now()):
        return render(request, "groups/join.html", {"invalid": True}, status=404)
    user = request.user
    if request.method == "POST":
        if not isinstance(user, User):
            return redirect_to_login(request.get_full_path())
        try:
            group = invite_services.invite_join(token=token, user=user)
        except invite_services.InviteInvalid:
            return render(request, "groups/join.html", {"invalid": True}, status=404)
        messages.success(request, f"You joined “{group.name}”.")
        return redirect("group", group_id=group.pk)
    member = isinstance(user, User) and Membership.objects.filter(group=invite.group, user=user).exists()
    inviter = group_selectors.display_name(invite.created_by) if invite.created_by else ""
    context = {"invite": invite, "group": invite.group, "inviter": inviter, "member": member,
               "next": request.get_full_path()}  # fmt: skip
    return render(request, "groups/join.html", context)
