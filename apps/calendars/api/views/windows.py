"""Windows across plans: a calendar's occurrences, a person's conflicts and their free/busy time."""

from collections.abc import Sequence
from datetime import datetime

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from apps.calendars import occurrence_pages, selectors
from apps.calendars.api.serializers import ConflictOut, FreeBusyOut, OccurrenceOut, occurrences_out
from apps.core.api.fields import openapi_pattern, query_flag
from apps.core.api.pagination import MAX_PAGE_SIZE, OnePage
from apps.core.api.schema import error_response
from apps.core.api.views import APIView
from apps.core.api.windows import query_window, window_in_any_zone
from apps.core.time import WINDOW_BOUND_PATTERN
from apps.users.auth import request_user

MAX_WINDOW_DAYS = 400
DEFAULT_PAGE_SIZE = 20  # when only a cursor is given
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


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _one_page(results: Sequence[object]) -> Response:
    return Response({"next": None, "previous": None, "results": results})


PAGING = [
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description=f"Occurrences per page, 1 to {MAX_PAGE_SIZE}. Without it (and without `cursor`) the whole "
        f"window is one page; with it, follow `next` (`previous` stays null).",
    ),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` link's cursor."),
]
OCCURRENCES_INVALID = error_response(
    400, "A bound is unreadable, `end` is not after `start` within the limit, or `page_size` or `cursor` is invalid."
)


def _page_size(request: Request) -> int | None:
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE if "cursor" in request.query_params else None
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE_SIZE):
        raise ValidationError({"page_size": [f"A whole number from 1 to {MAX_PAGE_SIZE}."]})
    return int(raw)


def _cursor(request: Request) -> occurrence_pages.Position | None:
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    try:
        return occurrence_pages.Position.decode(raw)
    except ValueError as exc:
        raise ValidationError({"cursor": [str(exc)]}) from None


def _first_batch(request: Request, owner_id: int, calendar_id: int) -> occurrence_pages.FirstBatch | None:
    """For a page whose parameters all read: the calendar's time zone and the page's first plans, in one query (a
    404 when the calendar is not the person's). None otherwise: the calendar is then found before anything is
    validated, so that another person's calendar is a 404 whatever the parameters."""
    outer = window_in_any_zone(request.query_params)
    if outer is None:
        return None
    try:
        size, after = _page_size(request), _cursor(request)
    except ValidationError:
        return None
    if size is None:
        return None
    first = occurrence_pages.first_batch(
        owner_id=owner_id, calendar_id=calendar_id, start=outer[0], end=outer[1], after=after
    )
    if first is None:
        raise Http404(selectors.NO_SUCH_CALENDAR)
    return first


class OccurrenceListView(APIView):
    pagination_class = OnePage  # the list shape; paging by `page_size` and `cursor` is declared below

    @extend_schema(
        parameters=[*WINDOW, OpenApiParameter("include_cancelled", OpenApiTypes.BOOL), *PAGING],
        responses={200: OccurrenceOut(many=True), 400: OCCURRENCES_INVALID},
        tags=["plans"],
    )
    def get(self, request: Request, calendar_id: int) -> Response:
        owner = request_user(request)
        first = _first_batch(request, owner.pk, calendar_id)
        timezone = first.timezone if first else selectors.calendar_timezone_of(owner=owner, calendar_id=calendar_id)
        start, end = query_window(request.query_params, tz=timezone, max_days=MAX_WINDOW_DAYS)
        include_cancelled = query_flag(request.query_params, "include_cancelled")
        size, after = _page_size(request), _cursor(request)
        if size is None:  # the whole window at once
            whole = selectors.occurrences(
                calendar_ids=[calendar_id], start=start, end=end, include_cancelled=include_cancelled
            )
            return _one_page(occurrences_out(whole))
        items, position = occurrence_pages.page(
            calendar_ids=[calendar_id],
            start=start,
            end=end,
            size=size,
            after=after,
            include_cancelled=include_cancelled,
            first=first,
        )
        next_url = None
        if position is not None:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", position.encode())
        return Response({"next": next_url, "previous": None, "results": occurrences_out(items)})


class ConflictListView(APIView):
    pagination_class = OnePage

    @extend_schema(parameters=WINDOW, responses={200: ConflictOut(many=True), 400: WINDOW_INVALID}, tags=["plans"])
    def get(self, request: Request) -> Response:
        owner = request_user(request)
        start, end = query_window(request.query_params, tz=owner.profile.timezone, max_days=MAX_WINDOW_DAYS)
        return _one_page([conflict.as_dict() for conflict in selectors.conflicts_of(owner=owner, start=start, end=end)])


class FreeBusyView(APIView):
    @extend_schema(parameters=WINDOW, responses={200: FreeBusyOut, 400: WINDOW_INVALID}, tags=["plans"])
    def get(self, request: Request) -> Response:
        owner = request_user(request)
        start, end = query_window(request.query_params, tz=owner.profile.timezone, max_days=MAX_WINDOW_DAYS)
        busy = selectors.freebusy(owner=owner, start=start, end=end)
        return Response(
            {
                "start_utc": _utc(start),
                "end_utc": _utc(end),
                "busy": [{"start_utc": _utc(begin), "end_utc": _utc(finish)} for begin, finish in busy],
            }
        )
