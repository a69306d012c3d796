"""Server-side tracked events, from the signals of the apps below (they never import analytics): sign-up, sign-in
in a browser (which also links the visitor's anonymous events to the account) or with a token, a plan created and
a source synced. Ids and counts only, nothing personal."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from apps.analytics import selectors, services
from apps.analytics.models import Experiment, TrackedEventType, TrackedObjectType
from apps.calendars.models import Plan
from apps.events.models import SyncRun
from apps.events.signals import sync_finished
from apps.users.auth_signals import token_obtained
from apps.users.models import User

ANONYMOUS_COOKIE = "wp_aid"  # set by the pages (static/js/beacons.js), first-party, an opaque random id


@receiver(post_save, sender=User, dispatch_uid="analytics.track_signup")
def track_signup(sender: type[User], instance: User, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        services.tracking_server_event(event_type=TrackedEventType.SIGNUP, user_id=instance.pk)


@receiver(user_logged_in, dispatch_uid="analytics.track_login")
def track_login(sender: object, request: HttpRequest | None, user: User, **_: Any) -> None:
    # The event first: it reads the experiments before writing events, the order every tracking write keeps.
    services.tracking_server_event(event_type=TrackedEventType.LOGIN, user_id=user.pk)
    anonymous_id = request.COOKIES.get(ANONYMOUS_COOKIE, "") if request is not None else ""
    if anonymous_id:
        services.tracking_link_anonymous(anonymous_id=anonymous_id, user_id=user.pk)


@receiver(post_save, sender=Plan, dispatch_uid="analytics.track_plan_created")
def track_plan_created(sender: type[Plan], instance: Plan, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        services.tracking_server_event(
            event_type=TrackedEventType.PLAN_CREATED,
            user_id=instance.calendar.owner_id,
            object_type=TrackedObjectType.PLAN,
            object_id=str(instance.pk),
            context={"origin": instance.origin},
        )


@receiver(token_obtained, dispatch_uid="analytics.track_token_login")
def track_token_login(sender: object, user: User, **_: Any) -> None:
    # An API client has no cookie, so there is no anonymous visit to link.
    services.tracking_server_event(event_type=TrackedEventType.LOGIN, user_id=user.pk, context={"via": "token"})


@receiver(sync_finished, dispatch_uid="analytics.track_source_synced")
def track_source_synced(sender: object, run: SyncRun, **_: Any) -> None:
    services.tracking_server_event(
        event_type=TrackedEventType.SOURCE_SYNCED,
        user_id=None,
        context={"source_id": run.source_id, "outcome": run.outcome, **run.counts()},
    )


@receiver(post_save, sender=Experiment, dispatch_uid="analytics.experiment_saved")
@receiver(post_delete, sender=Experiment, dispatch_uid="analytics.experiment_deleted")
def forget_remembered_experiments(sender: type[Experiment], **_: Any) -> None:
    # The request path remembers experiments for a second (selectors.experiment_by_key_remembered): a change made
    # here is seen by this process's requests once committed, not a second later.
    transaction.on_commit(selectors.experiment_forget)
