from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.calendars import selectors, services, subscriptions, tasks
from apps.calendars.api.ics_pattern import ICS_PATTERN, looks_like_icalendar
from apps.calendars.api.serializers import (
    CalendarSerializer,
    ConflictOut,
    ConflictRefusalOut,
    FreeBusyOut,
    ImportResultOut,
    OccurrenceInput,
    OccurrenceOut,
    PlanInput,
    PlanOut,
    PlanWithConflictsOut,
)
from apps.calendars.ical import IcsParseError, PlanData
from apps.calendars.models import Calendar, Plan, Subscription
from apps.core.api.errors import Conflict, RequestTooLarge, error_body
from apps.core.api.fields import PatternField, StrictIntegerField, openapi_pattern, query_flag
from apps.core.api.pagination import CursorPagination, OnePage
from apps.core.api.schema import error_response
from apps.core.api.views import APIView
from apps.core.time import WINDOW_BOUND_PATTERN, parse_window_bound
from apps.events import selectors as event_selectors
from apps.users.auth import request_user

MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_WINDOW_DAYS = 400
WINDOW = [
    OpenApiParameter(
        "start",
        OpenApiTypes.STR,
        required=True,
        pattern=openapi_pattern(WINDOW_BOUND_PATTERN),
        description="A date (midnight in your zone) or a date-time with offset.",
    ),
    OpenApiParameter(
        "end",
        OpenApiTypes.STR,
        required=True,
        pattern=openapi_pattern(WINDOW_BOUND_PATTERN),
        description=f"As `start`, exclusive: after `start`, and at most {MAX_WINDOW_DAYS} days after it.",
    ),
]
# Besides an unreadable bound: rules across both bounds (end after start, at most MAX_WINDOW_DAYS apart).
WINDOW_INVALID = error_response(400, "A bound is unreadable, or `end` is not after `start` within the limit.")
REJECT_CONFLICTS = OpenApiParameter(
    "reject_conflicts", OpenApiTypes.BOOL, description="Refuse (409) rather than save a plan that causes conflicts."
)
PLAN_WRITE_ERRORS = {
    400: error_response(
        400, "Invalid input, alone or together (`end` after `start`, dates when all-day, `lat` with `lon`)."
    ),
    409: error_response(409, "With reject_conflicts=true: nothing was saved.", body=ConflictRefusalOut),
}


class CalendarTextParser(BaseParser):
    media_type = "text/calendar"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        """The body as bytes (read one byte past the cap, so an oversized body is recognised)."""
        return bytes(stream.read(MAX_IMPORT_BYTES + 1)) if stream is not None else b""


def _window(request: Request, *, tz: str) -> tuple[datetime, datetime]:
    errors: dict[str, list[str]] = {}
    bounds: dict[str, datetime] = {}
    for name in ("start", "end"):
        value = request.query_params.get(name)
        if value is None:
            errors[name] = ["This parameter is required."]
            continue
        try:
            bounds[name] = parse_window_bound(value, tz)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if not errors and bounds["end"] <= bounds["start"]:
        errors["end"] = ["Must be later than start."]
    if not errors and (bounds["end"] - bounds["start"]).days > MAX_WINDOW_DAYS:
        errors["end"] = [f"A window is at most {MAX_WINDOW_DAYS} days."]
    if errors:
        raise ValidationError(errors)
    return bounds["start"], bounds["end"]


def _plan_data(validated: dict[str, Any], *, uid: str = "") -> PlanData:
    all_day = validated["all_day"]
    start, end = validated["start"], validated["end"]
    return PlanData(
        uid=uid,
        title=validated["title"],
        notes=validated["notes"],
        timezone=validated["timezone"],
        all_day=all_day,
        start_local=None if all_day else start,
        end_local=None if all_day else end,
        start_date=start if all_day else None,
        end_date=end if all_day else None,
        rrule=validated["rrule"],
        rdates=list(validated["rdates"]),
        exdates=list(validated["exdates"]),
        location=validated["location"],
        lat=validated["lat"],
        lon=validated["lon"],
        status=validated["status"],
    )


def _plan_as_input(plan: Plan) -> dict[str, Any]:
    """The stored plan in PlanInput's shape, so a PATCH validates the whole result, not just the change."""
    return {
        "title": plan.title,
        "notes": plan.notes,
        "timezone": plan.timezone,
        "all_day": plan.all_day,
        "start": (plan.start_date if plan.all_day else plan.start_local).isoformat(),  # type: ignore[union-attr]
        "end": (plan.end_date if plan.all_day else plan.end_local).isoformat(),  # type: ignore[union-attr]
        "rrule": plan.rrule,
        "rdates": plan.rdates,
        "exdates": plan.exdates,
        "location": plan.location,
        "lat": plan.lat,
        "lon": plan.lon,
        "status": plan.status,
    }


def _reject_conflicts(request: Request) -> bool:
    return query_flag(request.query_params, "reject_conflicts")


def _plan_response(request: Request, plan: Plan, conflicts: list[Any], *, created: bool = False) -> Response:
    body = dict(PlanOut(plan).data)
    body["conflicts"] = [conflict.as_dict() for conflict in conflicts]
    return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _plan_input(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return request.data


def _conflict_refusal(conflicts: list[Any]) -> Response:
    body = error_body("conflict", "The plan clashes with others; nothing was saved.")
    body["conflicts"] = [conflict.as_dict() for conflict in conflicts]
    return Response(body, status=status.HTTP_409_CONFLICT)


# --- Calendars ---------------------------------------------------------------------------------------------


class CalendarListView(APIView):
    pagination_class = CursorPagination

    @extend_schema(responses=CalendarSerializer(many=True), tags=["calendars"])
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.calendars_of(owner=request_user(request)), request, view=self)
        return paginator.get_paginated_response(CalendarSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=CalendarSerializer, responses={201: CalendarSerializer}, tags=["calendars"])
    def post(self, request: Request) -> Response:
        serializer = CalendarSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        calendar = services.calendar_create(owner=request_user(request), **serializer.validated_data)
        return Response(CalendarSerializer(calendar, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CalendarDetailView(APIView):
    def _calendar(self, request: Request, calendar_id: int) -> Calendar:
        return selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)

    @extend_schema(responses=CalendarSerializer, tags=["calendars"])
    def get(self, request: Request, calendar_id: int) -> Response:
        return Response(CalendarSerializer(self._calendar(request, calendar_id), context={"request": request}).data)

    @extend_schema(request=CalendarSerializer, responses=CalendarSerializer, tags=["calendars"])
    def patch(self, request: Request, calendar_id: int) -> Response:
        calendar = self._calendar(request, calendar_id)
        serializer = CalendarSerializer(calendar, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        calendar = services.calendar_update(calendar=calendar, data=serializer.validated_data)
        return Response(CalendarSerializer(calendar, context={"request": request}).data)

    @extend_schema(responses={204: None}, tags=["calendars"])
    def delete(self, request: Request, calendar_id: int) -> Response:
        services.calendar_delete(calendar=self._calendar(request, calendar_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedView(APIView):
    """The private feed URL: POST makes a new one (the old stops working), DELETE revokes it."""

    @extend_schema(request=None, responses=CalendarSerializer, tags=["calendars"])
    def post(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        calendar = services.calendar_feed_regenerate(calendar=calendar)
        return Response(CalendarSerializer(calendar, context={"request": request}).data)

    @extend_schema(responses={204: None}, tags=["calendars"])
    def delete(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        services.calendar_feed_revoke(calendar=calendar)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarIcsView(APIView):
    @extend_schema(
        responses={(200, "text/calendar"): OpenApiResponse(OpenApiTypes.STR, description="The calendar as iCalendar.")},
        tags=["calendars"],
    )
    def get(self, request: Request, calendar_id: int) -> HttpResponse:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        response = HttpResponse(selectors.calendar_ics(calendar=calendar), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="calendar-{calendar.pk}.ics"'
        return response


ICS_TEXT = {
    "type": "string",
    "pattern": openapi_pattern(ICS_PATTERN),
    "description": (
        "An iCalendar (RFC 5545) file, beginning BEGIN:VCALENDAR. Its events become plans (keyed by UID, so "
        "importing again updates them); other components are skipped; what cannot be read is listed in `refused`."
    ),
}


class CalendarImportView(APIView):
    parser_classes = [MultiPartParser, CalendarTextParser]
    request_body_required = True

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {**ICS_TEXT, "description": "The file, uploaded or as a text field."}},
                "required": ["file"],
            },
            "text/calendar": ICS_TEXT,
        },
        responses={
            200: ImportResultOut,
            400: error_response(400, "`file` is missing, or does not begin BEGIN:VCALENDAR."),
            413: error_response(413, "The file is larger than 10 MB."),
        },
        tags=["calendars"],
    )
    def post(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if isinstance(request.data, bytes):
            data = request.data
        elif upload is not None and hasattr(upload, "read"):
            data = upload.read(MAX_IMPORT_BYTES + 1)
        elif isinstance(upload, str):
            data = upload.encode()
        else:
            raise ValidationError({"file": ["Send the calendar as a multipart field `file` or a text/calendar body."]})
        if len(data) > MAX_IMPORT_BYTES:
            raise RequestTooLarge("The calendar is larger than 10 MB.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")  # Outlook's exports, as the importer reads them
        if not looks_like_icalendar(text):
            raise ValidationError({"file": ["Not an iCalendar file: it does not begin BEGIN:VCALENDAR."]})
        try:
            result = services.plans_import(calendar=calendar, data=data)
        except IcsParseError as exc:
            # A calendar that cannot be read as a whole: nothing is stored, and the answer says where it broke,
            # as it does for an entry that cannot be read alone.
            refused = [{"uid": None, "reason": f"Not a readable iCalendar file: {exc}"}]
            return Response({"created": 0, "updated": 0, "refused": refused, "skipped": 0})
        return Response(
            {"created": result.created, "updated": result.updated, "refused": result.refused, "skipped": result.skipped}
        )


# --- Subscriptions -------------------------------------------------------------------------------------------


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# An http(s) or webcal(s) URL whose host is a domain name (an address or a single label such as localhost
# would be refused: only public hosts are fetched).
SUBSCRIPTION_URL_PATTERN = (
    r"\A(?:[Hh][Tt][Tt][Pp][Ss]?|[Ww][Ee][Bb][Cc][Aa][Ll][Ss]?)://"
    rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?(?::{_PORT})?(?:[/?#][!-~]*)?\Z"
)


class SubscriptionInput(serializers.Serializer[Any]):
    url = PatternField(
        pattern=SUBSCRIPTION_URL_PATTERN,
        message="An http, https or webcal URL whose host is a domain name.",
        max_length=subscriptions.MAX_URL_LENGTH,
        help_text="An http, https or webcal URL of a public host: it is fetched on the sync queue.",
    )


class SubscriptionOut(serializers.ModelSerializer[Subscription]):
    """The URL is shown to its owner only (every read goes through the owner); it is encrypted at rest."""

    class Meta:
        model = Subscription
        fields = ["id", "url", "last_fetched_at", "last_error"]
        read_only_fields = fields


class SubscriptionListView(APIView):
    """A calendar's subscriptions: iCalendar URLs refreshed into it on the `sync` queue."""

    pagination_class = CursorPagination

    @extend_schema(responses=SubscriptionOut(many=True), tags=["calendars"])
    def get(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(subscriptions.subscriptions_of(calendar=calendar), request, view=self)
        return paginator.get_paginated_response(SubscriptionOut(page, many=True).data)

    @extend_schema(
        request=SubscriptionInput,
        responses={
            201: SubscriptionOut,
            409: error_response(409, "The calendar already subscribes to the URL, or has 50 subscriptions."),
        },
        tags=["calendars"],
    )
    def post(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        serializer = SubscriptionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                subscription = subscriptions.subscription_create(
                    calendar=calendar, url=serializer.validated_data["url"]
                )
                # The first refresh once the row is visible to the worker; if the broker is down, beat picks
                # the subscription up later (never fetched means due).
                transaction.on_commit(partial(tasks.sync_subscription.delay, subscription.pk), robust=True)
        except subscriptions.SubscriptionConflict as exc:
            raise Conflict({exc.field: [str(exc)]}) from exc
        except subscriptions.SubscriptionError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        return Response(SubscriptionOut(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(APIView):
    @extend_schema(responses={204: None}, tags=["calendars"])
    def delete(self, request: Request, calendar_id: int, subscription_id: int) -> Response:
        subscription = subscriptions.subscription_of(
            owner=request_user(request), calendar_id=calendar_id, subscription_id=subscription_id
        )
        subscriptions.subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Plans -----------------------------------------------------------------------------------------------------


class PlanListView(APIView):
    pagination_class = CursorPagination

    @extend_schema(responses=PlanOut(many=True), tags=["plans"])
    def get(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.plans_of(calendar=calendar), request, view=self)
        return paginator.get_paginated_response(PlanOut(page, many=True).data)

    @extend_schema(
        request=PlanInput,
        parameters=[REJECT_CONFLICTS],
        responses={201: PlanWithConflictsOut, **PLAN_WRITE_ERRORS},
        tags=["plans"],
    )
    def post(self, request: Request, calendar_id: int) -> Response:
        owner = request_user(request)
        calendar = selectors.calendar_of(owner=owner, calendar_id=calendar_id)
        reject = _reject_conflicts(request)
        serializer = PlanInput(data=_plan_input(request), context={"default_timezone": calendar.timezone})
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                plan = services.plan_create(calendar=calendar, data=_plan_data(serializer.validated_data))
                conflicts = selectors.conflicts_for_plan(owner=owner, plan=plan)
                if conflicts and reject:
                    transaction.set_rollback(True)
                    return _conflict_refusal(conflicts)
        except services.PlanInputError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        return _plan_response(request, plan, conflicts, created=True)


class PlanDetailView(APIView):
    @extend_schema(responses=PlanOut, tags=["plans"])
    def get(self, request: Request, calendar_id: int, plan_id: int) -> Response:
        return Response(
            PlanOut(selectors.plan_of(owner=request_user(request), calendar_id=calendar_id, plan_id=plan_id)).data
        )

    @extend_schema(
        request=PlanInput(partial=True),
        parameters=[REJECT_CONFLICTS],
        responses={200: PlanWithConflictsOut, **PLAN_WRITE_ERRORS},
        tags=["plans"],
    )
    def patch(self, request: Request, calendar_id: int, plan_id: int) -> Response:
        owner = request_user(request)
        plan = selectors.plan_of(owner=owner, calendar_id=calendar_id, plan_id=plan_id)
        reject = _reject_conflicts(request)
        merged = {**_plan_as_input(plan), **_plan_input(request)}
        serializer = PlanInput(data=merged, context={"default_timezone": plan.timezone})
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                plan = services.plan_update(plan=plan, data=_plan_data(serializer.validated_data, uid=plan.ical_uid))
                conflicts = selectors.conflicts_for_plan(owner=owner, plan=plan)
                if conflicts and reject:
                    transaction.set_rollback(True)
                    return _conflict_refusal(conflicts)
        except services.PlanInputError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        return _plan_response(request, plan, conflicts)

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
        return plan

    @extend_schema(
        request=OccurrenceInput,
        responses={
            200: PlanWithConflictsOut,
            400: error_response(400, "Invalid input, alone or with the occurrence (`end` after `start`)."),
        },
        tags=["plans"],
    )
    def patch(self, request: Request, calendar_id: int, plan_id: int, recurrence_id: str) -> Response:
        plan = self._plan(request, calendar_id, plan_id, recurrence_id)
        serializer = OccurrenceInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = selectors.occurrence_changes(plan=plan, validated=serializer.validated_data)
        try:
            services.occurrence_change(plan=plan, recurrence_id=recurrence_id, changes=changes)
        except services.PlanInputError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        plan.refresh_from_db()
        return _plan_response(request, plan, selectors.conflicts_for_plan(owner=request_user(request), plan=plan))

    @extend_schema(responses={204: None}, tags=["plans"])
    def delete(self, request: Request, calendar_id: int, plan_id: int, recurrence_id: str) -> Response:
        plan = self._plan(request, calendar_id, plan_id, recurrence_id)
        services.occurrence_change(plan=plan, recurrence_id=recurrence_id, cancelled=True)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlanFromEventInput(serializers.Serializer[Any]):
    event = StrictIntegerField(help_text="A catalogue event's id.")
    calendar = StrictIntegerField(help_text="One of your calendars' ids.")


class PlanFromEventView(APIView):
    @extend_schema(
        request=PlanFromEventInput,
        responses={
            201: PlanWithConflictsOut,
            404: error_response(404, "No such event, or no such calendar of yours (`error.fields` names which)."),
        },
        tags=["plans"],
    )
    def post(self, request: Request) -> Response:
        owner = request_user(request)
        serializer = PlanFromEventInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data
        try:
            calendar = selectors.calendar_of(owner=owner, calendar_id=ids["calendar"])
        except Http404:
            raise NotFound({"calendar": ["No such calendar of yours."]}) from None
        event = event_selectors.event_detail(event_id=ids["event"])
        if event is None:
            raise NotFound({"event": ["No such event."]})
        plan = services.plan_from_event(calendar=calendar, event=event)
        return _plan_response(request, plan, selectors.conflicts_for_plan(owner=owner, plan=plan), created=True)


# --- Windows: occurrences, conflicts, free/busy -------------------------------------------------------------------


class OccurrenceListView(APIView):
    pagination_class = OnePage  # a window of at most 400 days is one page

    @extend_schema(
        parameters=[*WINDOW, OpenApiParameter("include_cancelled", OpenApiTypes.BOOL)],
        responses={200: OccurrenceOut(many=True), 400: WINDOW_INVALID},
        tags=["plans"],
    )
    def get(self, request: Request, calendar_id: int) -> Response:
        calendar = selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)
        start, end = _window(request, tz=calendar.timezone)
        include_cancelled = query_flag(request.query_params, "include_cancelled")
        items = selectors.occurrences(
            calendar_ids=[calendar.pk], start=start, end=end, include_cancelled=include_cancelled
        )
        results = [OccurrenceOut(item).data for item in items]
        return Response({"next": None, "previous": None, "results": results})


class ConflictListView(APIView):
    pagination_class = OnePage

    @extend_schema(parameters=WINDOW, responses={200: ConflictOut(many=True), 400: WINDOW_INVALID}, tags=["plans"])
    def get(self, request: Request) -> Response:
        owner = request_user(request)
        start, end = _window(request, tz=owner.profile.timezone)
        conflicts = selectors.conflicts_of(owner=owner, start=start, end=end)
        return Response({"next": None, "previous": None, "results": [conflict.as_dict() for conflict in conflicts]})


class FreeBusyView(APIView):
    @extend_schema(parameters=WINDOW, responses={200: FreeBusyOut, 400: WINDOW_INVALID}, tags=["plans"])
    def get(self, request: Request) -> Response:
        owner = request_user(request)
        start, end = _window(request, tz=owner.profile.timezone)
        busy = selectors.freebusy(owner=owner, start=start, end=end)
        return Response(
            {
                "start_utc": start.isoformat().replace("+00:00", "Z"),
                "end_utc": end.isoformat().replace("+00:00", "Z"),
                "busy": [
                    {"start_utc": b.isoformat().replace("+00:00", "Z"), "end_utc": e.isoformat().replace("+00:00", "Z")}
                    for b, e in busy
                ],
            }
        )
