"""What members do on the group page, each a form post that comes back to it (POST/redirect/GET): leave, the
owner's removing and handing over, sharing, invitations, polls, votes and answers to group plans. A form with
errors is shown again on the page with the errors next to its fields (400), nothing half-saved."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.privacy import asks_not_to_be_tracked
from apps.groups import itip
from apps.groups.forms import InviteEmailForm
from apps.groups.models import Answer, Group, Role, VoteChoice
from apps.groups.selectors import groups as group_selectors
from apps.groups.selectors import plans as plan_selectors
from apps.groups.selectors import polls as poll_selectors
from apps.groups.services import groups as group_services
from apps.groups.services import invites as invite_services
from apps.groups.services import plans as plan_services
from apps.groups.services import polls as poll_services
from apps.groups.services import weekend as weekend_services
from apps.groups.views.pages import poll_form_for, render_group, render_poll
from apps.users.auth import request_user


def _group(request: HttpRequest, group_id: int) -> Group:
    return group_selectors.group_of(user=request_user(request), group_id=group_id)


def _owned(request: HttpRequest, group_id: int) -> Group:
    """The group, when the caller owns it: a member who is not the owner may not (403); a non-member sees 404."""
    group = _group(request, group_id)
    if getattr(group, "role", None) != Role.OWNER:
        raise PermissionDenied("Only the group's owner can do this.")
    return group


def _back(group: Group, anchor: str = "") -> HttpResponse:
    return redirect(reverse("group", args=[group.pk]) + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def group_leave(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _group(request, group_id)
    name = group.name
    group_services.member_leave(group=group, user=request_user(request))
    messages.success(request, f"You left “{name}”.")
    return redirect("groups")


@login_required
@require_POST
def member_remove(request: HttpRequest, group_id: int, user_id: int) -> HttpResponse:
    group = _owned(request, group_id)
    if user_id == request_user(request).pk:
        messages.warning(request, "To leave the group yourself, use Leave the group.")
        return _back(group, "members")
    group_services.member_remove(group=group, user_id=user_id)  # 404 for someone who is not a member
    messages.success(request, "Removed from the group.")
    return _back(group, "members")


@login_required
@require_POST
def ownership_hand_over(request: HttpRequest, group_id: int, user_id: int) -> HttpResponse:
    group = _owned(request, group_id)
    if user_id == request_user(request).pk:
        messages.info(request, "You are the owner already.")
        return _back(group, "members")
    try:
        group_services.ownership_transfer(group=group, to_user_id=user_id)
    except group_services.NotAMember:
        messages.warning(request, "That person is no longer a member.")
    else:
        messages.success(request, "You handed ownership over: you are now a member.")
    return _back(group, "members")


@login_required
@require_POST
def sharing_toggle(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _group(request, group_id)
    membership = group_selectors.membership_of(user=request_user(request), group=group)
    paused = request.POST.get("paused") == "1"
    group_services.sharing_set(membership=membership, paused=paused)
    if paused:
        messages.success(request, "Sharing paused: the group no longer sees when you are free or busy.")
    else:
        messages.success(request, "Sharing resumed: the group sees when you are free or busy (never what you do).")
    return _back(group, "availability")


@login_required
@require_POST
def invite_link(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _group(request, group_id)
    invite_services.invite_create(group=group, by=request_user(request))
    messages.success(request, "A new invitation link is ready: copy it and send it to whoever you like.")
    return _back(group, "invite")


@login_required
@require_POST
def invite_email(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _group(request, group_id)
    form = InviteEmailForm(request.POST)
    if not form.is_valid():
        return render_group(request, group, status=400, email_form=form)
    email = form.cleaned_data["email"]
    invite_services.invite_create(group=group, by=request_user(request), email=email)
    messages.success(request, f"Invitation sent to {email}.")
    return _back(group, "invite")


@login_required
@require_POST
def invite_revoke(request: HttpRequest, group_id: int, invite_id: int) -> HttpResponse:
    group = _group(request, group_id)
    invite = group_selectors.invite_of(group=group, invite_id=invite_id)
    if getattr(group, "role", None) != Role.OWNER and invite.created_by_id != request_user(request).pk:
        raise PermissionDenied("Only the owner, or whoever made it, can revoke an invitation.")
    invite_services.invite_revoke(invite=invite)
    messages.success(request, "Invitation revoked: the link no longer works.")
    return _back(group, "invite")


@login_required
@require_POST
def poll_create(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _group(request, group_id)
    form = poll_form_for(request, group, request.POST)
    if form.is_valid():
        try:
            poll = poll_services.poll_create(
                group=group, by=request_user(request), question=form.cleaned_data["question"],
                options=form.cleaned_data["options"],
            )  # fmt: skip
        except poll_services.PollInputError as exc:
            form.add_error("question" if exc.field == "question" else "options", str(exc))
        else:
            messages.success(request, "Poll opened: the members are asked to vote.")
            return _back(group, f"poll-{poll.pk}")
    return render_group(request, group, status=400, poll_form=form)


@login_required
@require_POST
def weekend_plan(request: HttpRequest, group_id: int) -> HttpResponse:
    """Plan our weekend: the group's itinerary as the asker's draft, shown on the itinerary page (apps.itineraries)."""
    group = _group(request, group_id)
    which = "next" if request.POST.get("weekend") == "next" else "this"
    try:
        itinerary = weekend_services.group_weekend_plan(
            group=group, by=request_user(request), weekend=which, track=not asks_not_to_be_tracked(request)
        )
    except (weekend_services.NoMeetingPoint, weekend_services.NothingLeft) as exc:
        messages.warning(request, str(exc))
        return redirect(reverse("group", args=[group.pk]) + f"?weekend={which}#availability")
    return redirect("itinerary", itinerary_id=itinerary.pk)


@login_required
@require_POST
def vote(request: HttpRequest, group_id: int, poll_id: int) -> HttpResponse:
    group = _group(request, group_id)
    poll = poll_selectors.poll_of(group=group, poll_id=poll_id)
    option_id, choice = request.POST.get("option", ""), request.POST.get("choice", "")
    problem, status = "", 200
    if not option_id.isdigit() or choice not in VoteChoice.values:
        problem, status = "Choose yes, maybe or no for one of the options.", 400
    else:
        try:
            poll_services.vote_cast(poll=poll, user=request_user(request), option_id=int(option_id), choice=choice)
        except poll_services.PollInputError as exc:
            problem, status = str(exc), 400
        except poll_services.PollClosed as exc:
            problem = str(exc)  # closed while the person looked: the card, now closed, says so in place
    if request.headers.get("HX-Request"):
        # htmx swaps no 4xx: input our own buttons never send keeps the card as it was.
        return render_poll(request, group, poll.pk, problem=problem, status=status)
    if problem:
        messages.warning(request, problem)
    return _back(group, f"poll-{poll.pk}")


@login_required
@require_POST
def poll_close(request: HttpRequest, group_id: int, poll_id: int) -> HttpResponse:
    group = _owned(request, group_id)
    poll = poll_selectors.poll_of(group=group, poll_id=poll_id)
    try:
        plan = poll_services.poll_close(poll=poll, by=request_user(request))
    except poll_services.PollClosed:
        messages.warning(request, "This poll was already closed.")
        return _back(group, f"poll-{poll.pk}")
    if plan is None:
        messages.info(request, "Poll closed: nobody said yes or maybe to any option, so there is no plan.")
        return _back(group, f"poll-{poll.pk}")
    messages.success(request, f"Poll closed: “{plan.title}” it is. Accept it to put it on your weekend.")
    return _back(group, f"plan-{plan.pk}")


@login_required
@require_POST
def plan_answer(request: HttpRequest, group_id: int, plan_id: int) -> HttpResponse:
    group = _group(request, group_id)
    group_plan = plan_selectors.group_plan_of(group=group, plan_id=plan_id)
    answer = request.POST.get("answer", "")
    if answer not in (Answer.ACCEPTED, Answer.DECLINED):
        messages.warning(request, "Answer accept or decline.")
        return _back(group, f"plan-{group_plan.pk}")
    try:
        plan_services.attendance_answer(group_plan=group_plan, user=request_user(request), answer=answer)
    except (
        plan_services.GroupPlanInputError,
        plan_services.GroupPlanCancelled,
        plan_services.GroupPlanUnplaceable,
    ) as exc:
        messages.warning(request, str(exc))
        return _back(group, f"plan-{group_plan.pk}")
    if answer == Answer.ACCEPTED:
        messages.success(request, f"“{group_plan.title}” is on your weekend.")
    else:
        messages.success(request, f"You declined “{group_plan.title}”.")
    return _back(group, f"plan-{group_plan.pk}")


@login_required
@require_GET
def plan_ics(request: HttpRequest, group_id: int, plan_id: int) -> HttpResponse:
    group = _group(request, group_id)
    group_plan = plan_selectors.group_plan_of(group=group, plan_id=plan_id)
    response = HttpResponse(itip.invitation_ics(group_plan=group_plan), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="group-plan-{group_plan.pk}.ics"'
    return response
