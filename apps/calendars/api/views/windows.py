"""Windows across plans: a calendar's occurrences, a person's conflicts and their free/busy time."""

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.calendars import selectors
from apps.calendars.api.serializers import ConflictOut, FreeBusyOut, OccurrenceOut
from apps.calendars.api.views.calendars import owned_calendar
from apps.core.api.fields import openapi_pattern, query_flag
from apps.core.api.pagination import OnePage
from apps.core.api.schema import error_response
from apps.core.api.views import APIView
from apps.core.time import WINDOW_BOUND_PATTERN, parse_window_bound
from apps.users.auth import request_user

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


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _one_page(results: list[object]) -> Response:
    return Response({"next": None, "previous": None, "results": results})


class OccurrenceListView(APIView):
    pagination_class = OnePage  # a window of at most 400 days is one page

    @extend_schema(
        parameters=[*WINDOW, OpenApiParameter("include_cancelled", OpenApiTypes.BOOL)],
        responses={200: OccurrenceOut(many=True), 400: WINDOW_INVALID},
        tags=["plans"],
    )
    def get(self, request: Request, calendar_id: int) -> Response:
        calendar = owned_calendar(request, calendar_id)
        start, end = _window(request, tz=calendar.timezone)
        include_cancelled = query_flag(request.query_params, "include_cancelled")
        items = selectors.occurrences(
            calendar_ids=[calendar.pk], start=start, end=end, include_cancelled=include_cancelled
        )
        return _one_page([OccurrenceOut(item).data for item in items])


class ConflictListView(APIView):
    pagination_class = OnePage

    @extend_schema(parameters=WINDOW, responses={200: ConflictOut(many=True), 400: WINDOW_INVALID}, tags=["plans"])
    def get(self, request: Request) -> Response:
        owner = request_user(request)
        start, end = _window(request, tz=owner.profile.timezone)
        return _one_page([conflict.as_dict() for conflict in selectors.conflicts_of(owner=owner, start=start, end=end)])


class FreeBusyView(APIView):
    @extend_schema(parameters=WINDOW, responses={200: FreeBusyOut, 400: WINDOW_INVALID}, tags=["plans"])
    def get(self, request: Request) -> Response:
        owner = request_user(request)
        start, end = _window(request, tz=owner.profile.timezone)
        busy = selectors.freebusy(owner=owner, start=start, end=end)
        return Response(
            {
                "start_utc": _utc(start),
                "end_utc": _utc(end),
                "busy": [{"start_utc": _utc(begin), "end_utc": _utc(finish)} for begin, finish in busy],
            }
        )
