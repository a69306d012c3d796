"""Plans: written with the conflicts they cause (or, with ?reject_conflicts=true, refused with them), one
occurrence of a series moved, retitled or cancelled, and a catalogue event saved as a plan."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.calendars import plan_fields, selectors, services
from apps.calendars.api.serializers import (
    ConflictRefusalOut,
    OccurrenceInput,
    PlanFromEventInput,
    PlanInput,
    PlanOut,
    PlanWithConflictsOut,
)
from apps.calendars.api.views.calendars import owned_calendar
from apps.calendars.conflicts import Conflict
from apps.calendars.models import Plan
from apps.core.api.errors import error_body
from apps.core.api.fields import query_flag
from apps.core.api.pagination import CursorPagination
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.events import selectors as event_selectors
from apps.users.auth import request_user

REJECT_CONFLICTS = OpenApiParameter(
    "reject_conflicts", OpenApiTypes.BOOL, description="Refuse (409) rather than save a plan that causes conflicts."
)
PLAN_WRITE_ERRORS = {
    400: error_response(
        400, "Invalid input, alone or together (`end` after `start`, dates when all-day, `lat` with `lon`)."
    ),
    409: error_response(409, "With reject_conflicts=true: nothing was saved.", body=ConflictRefusalOut),
}
OCCURRENCE_ERRORS = {400: error_response(400, "Invalid input, alone or with the occurrence (`end` after `start`).")}
FROM_EVENT_ERRORS = {
    404: error_response(404, "No such event, or no such calendar of yours (`error.fields` names which).")
}


@contextmanager
def _refusals_as_400() -> Iterator[None]:
    """What the services refuse as input is a 400 naming the field."""
    try:
        yield
    except services.PlanInputError as exc:
        raise ValidationError({exc.field: [str(exc)]}) from exc


def _json_object(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return request.data


def _stored_input(plan: Plan) -> dict[str, Any]:
    """The stored plan in PlanInput's shape, so a PATCH validates the whole result, not just the change."""
    values = plan_fields.written(plan)
    values["start"], values["end"] = values["start"].isoformat(), values["end"].isoformat()
    return values


def _with_conflicts(plan: Plan, conflicts: list[Conflict], *, created: bool = False) -> Response:
    body = dict(PlanOut(plan).data)
    body["conflicts"] = [conflict.as_dict() for conflict in conflicts]
    return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _saved(request: Request, plan: Plan, *, created: bool = False) -> Response:
    conflicts = selectors.conflicts_for_plan(owner=request_user(request), plan=plan)
    return _with_conflicts(plan, conflicts, created=created)


def _written(request: Request, save: Callable[[], Plan], *, reject: bool, created: bool = False) -> Response:
    """The plan `save` wrote with its conflicts, or the 409 listing those it would have caused."""
    try:
        with _refusals_as_400():
            plan = save()
    except services.PlanConflict as exc:
        body = error_body("conflict", str(exc))
        body["conflicts"] = [conflict.as_dict() for conflict in exc.conflicts]
        return Response(body, status=status.HTTP_409_CONFLICT)
    if reject:  # saved although conflicts were refused: it causes none
        return _with_conflicts(plan, [], created=created)
    return _saved(request, plan, created=created)


class PlanListView(APIView):
    pagination_class = CursorPagination

    @extend_schema(responses=PlanOut(many=True), tags=["plans"])
    def get(self, request: Request, calendar_id: int) -> Response:
        return self.paginated(request, selectors.plans_of(calendar=owned_calendar(request, calendar_id)), PlanOut)

    @extend_schema(
        request=PlanInput,
        parameters=[REJECT_CONFLICTS],
        responses={201: PlanWithConflictsOut, **PLAN_WRITE_ERRORS},
        tags=["plans"],
    )
    def post(self, request: Request, calendar_id: int) -> Response:
        calendar = owned_calendar(request, calendar_id)
        reject = query_flag(request.query_params, "reject_conflicts")
        values = validated(PlanInput, _json_object(request), context={"default_timezone": calendar.timezone})
        data = plan_fields.plan_data(**values)
        save = partial(services.plan_create, calendar=calendar, data=data, reject_conflicts=reject)
        return _written(request, save, reject=reject, created=True)


class PlanDetailView(APIView):
    @extend_schema(responses=PlanOut, tags=["plans"])
    def get(self, request: Request, calendar_id: int, plan_id: int) -> Response:
        plan = selectors.plan_of(owner=request_user(request), calendar_id=calendar_id, plan_id=plan_id)
        return Response(PlanOut(plan).data)

    @extend_schema(
        request=PlanInput(partial=True),
        parameters=[REJECT_CONFLICTS],
        responses={200: PlanWithConflictsOut, **PLAN_WRITE_ERRORS},
        tags=["plans"],
    )
    def patch(self, request: Request, calendar_id: int, plan_id: int) -> Response:
        plan = selectors.plan_of(owner=request_user(request), calendar_id=calendar_id, plan_id=plan_id)
        reject = query_flag(request.query_params, "reject_conflicts")
        merged = {**_stored_input(plan), **_json_object(request)}
        values = validated(PlanInput, merged, context={"default_timezone": plan.timezone})
        data = plan_fields.plan_data(**values, uid=plan.ical_uid)
        return _written(
            request, partial(services.plan_update, plan=plan, data=data, reject_conflicts=reject), reject=reject
        )

    @extend_schema(responses={204: None}, tags=["plans"])
    def delete(self, request: Request, calendar_id: int, plan_id: int) -> Response:
        plan = selectors.plan_of(owner=request_user(request), calendar_id=calendar_id, plan_id=plan_id)
        services.plan_delete(plan=plan)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OccurrenceDetailView(APIView):
    """One occurrence of a series, by its recurrence id (its original start): moved, retitled or cancelled."""

    def _plan(self, request: Request, calendar_id: int, plan_id: int, recurrence_id: str) -> Plan:
        plan = selectors.plan_of(owner=request_user(request), calendar_id=calendar_id, plan_id=plan_id)
        if not selectors.is_occurrence_of(plan=plan, recurrence_id=recurrence_id):
            raise NotFound("The series has no occurrence with that recurrence id.")
        if selectors.is_cancelled_occurrence(plan=plan, recurrence_id=recurrence_id):
            raise NotFound("That occurrence was deleted.")
        return plan

    @extend_schema(request=OccurrenceInput, responses={200: PlanWithConflictsOut, **OCCURRENCE_ERRORS}, tags=["plans"])
    def patch(self, request: Request, calendar_id: int, plan_id: int, recurrence_id: str) -> Response:
        plan = self._plan(request, calendar_id, plan_id, recurrence_id)
        changes = selectors.occurrence_changes(plan=plan, validated=validated(OccurrenceInput, request.data))
        with _refusals_as_400():
            services.occurrence_change(plan=plan, recurrence_id=recurrence_id, changes=changes)
        plan.refresh_from_db()
        return _saved(request, plan)

    @extend_schema(responses={204: None}, tags=["plans"])
    def delete(self, request: Request, calendar_id: int, plan_id: int, recurrence_id: str) -> Response:
        plan = self._plan(request, calendar_id, plan_id, recurrence_id)
        services.occurrence_change(plan=plan, recurrence_id=recurrence_id, cancelled=True)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlanFromEventView(APIView):
    @extend_schema(
        request=PlanFromEventInput, responses={201: PlanWithConflictsOut, **FROM_EVENT_ERRORS}, tags=["plans"]
    )
    def post(self, request: Request) -> Response:
        ids = validated(PlanFromEventInput, request.data)
        try:
            calendar = selectors.calendar_of(owner=request_user(request), calendar_id=ids["calendar"])
        except Http404:
            raise NotFound({"calendar": ["No such calendar of yours."]}) from None
        event = event_selectors.event_detail(event_id=ids["event"])
        if event is None:
            raise NotFound({"event": ["No such event."]})
        return _saved(request, services.plan_from_event(calendar=calendar, event=event), created=True)
