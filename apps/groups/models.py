"""Groups of people planning together: members, invitations, polls and the plans a group agrees on.

The top layer: it reads members' calendars through calendars' selectors and writes to them through calendars'
services (an accepted group plan becomes a plan on the member's default calendar), and may call itineraries'
services; nothing below imports it. What members see of each other is free/busy only (apps/groups/selectors.py).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.validators import validate_latitude, validate_longitude, validate_timezone
from apps.events.models import Event

INVITE_DAYS = 7  # how long an invitation link works unless the inviter chooses otherwise


def new_invite_token() -> str:
    return secrets.token_urlsafe(32)


def new_group_plan_uid() -> str:
    return f"{secrets.token_hex(16)}@groups.weekendplanner"


class Group(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Where the group meets for "Plan our weekend": a place name and its coordinates, both optional.
    meeting_point = models.CharField(max_length=300, blank=True)
    meeting_lat = models.FloatField(null=True, blank=True, validators=[validate_latitude])
    meeting_lon = models.FloatField(null=True, blank=True, validators=[validate_longitude])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(meeting_lat__isnull=True, meeting_lon__isnull=True)
                | Q(meeting_lat__isnull=False, meeting_lon__isnull=False),
                name="group_meeting_lat_lon_together",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class Membership(models.Model):
    # Not indexed alone: membership_unique_per_group leads with it.
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    # Not indexed alone: membership_user_group_idx leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships", db_index=False
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Paused: the other members see this person as neither free nor busy in this group (not counted at all).
    sharing_paused = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="membership_unique_per_group"),
            models.UniqueConstraint(fields=["group"], condition=Q(role="owner"), name="membership_one_owner_per_group"),
        ]
        indexes = [models.Index(fields=["user", "group"], name="membership_user_group_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id} ({self.role})"


class Invite(models.Model):
    """A link that lets whoever holds it join until it expires or is revoked; sent by email when `email` is set."""

    # Not indexed alone: invite_group_newest_idx leads with it.
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invites", db_index=False)
    token = models.CharField(max_length=64, unique=True, default=new_invite_token)
    email = models.EmailField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="group_invites_sent"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["group", "-created_at"], name="invite_group_newest_idx")]

    def __str__(self) -> str:
        return f"Invite {self.pk} to {self.group_id}"  # never the token: it is a secret


class PollStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Poll(models.Model):
    # Not indexed alone: poll_group_newest_idx leads with it.
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="polls", db_index=False)
    question = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="group_polls_created"
    )
    status = models.CharField(max_length=10, choices=PollStatus.choices, default=PollStatus.OPEN)
    winner = models.ForeignKey("PollOption", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["group", "-created_at"], name="poll_group_newest_idx")]

    def __str__(self) -> str:
        return self.question


class PollOption(models.Model):
    """A catalogue event, or a time window [start_utc, end_utc) the group might meet in."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    start_utc = models.DateTimeField(null=True, blank=True)
    end_utc = models.DateTimeField(null=True, blank=True)
    label = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(event__isnull=False, start_utc__isnull=True, end_utc__isnull=True))
                | Q(
                    event__isnull=True,
                    start_utc__isnull=False,
                    end_utc__isnull=False,
                    end_utc__gt=models.F("start_utc"),
                ),
                name="poll_option_event_or_window",
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"Option {self.pk}"


class VoteChoice(models.TextChoices):
    YES = "yes", "Yes"
    MAYBE = "maybe", "Maybe"
    NO = "no", "No"


class Vote(models.Model):
    # Not indexed alone: vote_one_per_person_and_option leads with it.
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_votes")
    choice = models.CharField(max_length=5, choices=VoteChoice.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["option", "user"], name="vote_one_per_person_and_option")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.choice} on {self.option_id}"


class GroupPlanStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"


class GroupPlan(models.Model):
    """What the group agreed on: a catalogue event or a time window, sent to every member as an invitation."""

    # Not indexed alone: group_plan_group_start_idx leads with it.
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="plans", db_index=False)
    poll = models.OneToOneField(Poll, null=True, blank=True, on_delete=models.SET_NULL, related_name="group_plan")
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="group_plans_organized"
    )
    title = models.CharField(max_length=500)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start_utc = models.DateTimeField()
    end_utc = models.DateTimeField()
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    location = models.CharField(max_length=500, blank=True)
    lat = models.FloatField(null=True, blank=True, validators=[validate_latitude])
    lon = models.FloatField(null=True, blank=True, validators=[validate_longitude])
    status = models.CharField(max_length=10, choices=GroupPlanStatus.choices, default=GroupPlanStatus.CONFIRMED)
    ical_uid = models.CharField(max_length=200, unique=True, default=new_group_plan_uid)
    sequence = models.PositiveIntegerField(default=0)  # iTIP SEQUENCE: bumped on every change members must see
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(end_utc__gt=models.F("start_utc")), name="group_plan_ends_after_start"),
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lon__isnull=True) | Q(lat__isnull=False, lon__isnull=False),
                name="group_plan_lat_lon_together",
            ),
        ]
        indexes = [models.Index(fields=["group", "start_utc"], name="group_plan_group_start_idx")]

    def __str__(self) -> str:
        return self.title


class Answer(models.TextChoices):
    NEEDS_ACTION = "needs-action", "Not answered"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Attendance(models.Model):
    """A member's answer to a group plan (iTIP PARTSTAT) and, once accepted, the plan on their default calendar."""

    # Not indexed alone: attendance_one_per_member leads with it.
    group_plan = models.ForeignKey(GroupPlan, on_delete=models.CASCADE, related_name="attendances", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_attendances")
    answer = models.CharField(max_length=12, choices=Answer.choices, default=Answer.NEEDS_ACTION)
    calendar_plan = models.ForeignKey(
        "calendars.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group_plan", "user"], name="attendance_one_per_member")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.answer} for {self.group_plan_id}"
