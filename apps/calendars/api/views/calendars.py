"""Calendars: list, create, change, delete; the private feed URL; the calendar as ICS, and an ICS import."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.calendars import selectors, services
from apps.calendars.api.ics_pattern import ICS_PATTERN, looks_like_icalendar
from apps.calendars.api.serializers import CalendarSerializer, ImportResultOut
from apps.calendars.ical import IcsParseError
from apps.calendars.models import Calendar
from apps.core.api.errors import RequestTooLarge
from apps.core.api.fields import openapi_pattern
from apps.core.api.pagination import CursorPagination
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.core.icalendar import MAX_FEED_BYTES
from apps.users.auth import request_user

ICS_TEXT = {
    "type": "string",
    "pattern": openapi_pattern(ICS_PATTERN),
    "description": (
        "An iCalendar (RFC 5545) file, beginning BEGIN:VCALENDAR. Its events become plans (keyed by UID, so "
        "importing again updates them); other components are skipped; what cannot be read is listed in `refused`."
    ),
}


def owned_calendar(request: Request, calendar_id: int) -> Calendar:
    """The calendar of the person asking, or a 404."""
    return selectors.calendar_of(owner=request_user(request), calendar_id=calendar_id)


def _shown(request: Request, calendar: Calendar, *, code: int = status.HTTP_200_OK) -> Response:
    return Response(CalendarSerializer(calendar, context={"request": request}).data, status=code)


class CalendarListView(APIView):
    pagination_class = CursorPagination

    @extend_schema(responses=CalendarSerializer(many=True), tags=["calendars"])
    def get(self, request: Request) -> Response:
        calendars = selectors.calendars_of(owner=request_user(request))
        return self.paginated(request, calendars, CalendarSerializer, context={"request": request})

    @extend_schema(request=CalendarSerializer, responses={201: CalendarSerializer}, tags=["calendars"])
    def post(self, request: Request) -> Response:
        values = validated(CalendarSerializer, request.data)
        calendar = services.calendar_create(owner=request_user(request), **values)
        return _shown(request, calendar, code=status.HTTP_201_CREATED)


class CalendarDetailView(APIView):
    @extend_schema(responses=CalendarSerializer, tags=["calendars"])
    def get(self, request: Request, calendar_id: int) -> Response:
        return _shown(request, owned_calendar(request, calendar_id))

    @extend_schema(request=CalendarSerializer, responses=CalendarSerializer, tags=["calendars"])
    def patch(self, request: Request, calendar_id: int) -> Response:
        calendar = owned_calendar(request, calendar_id)
        values = validated(CalendarSerializer, request.data, instance=calendar, partial=True)
        return _shown(request, services.calendar_update(calendar=calendar, data=values))

    @extend_schema(responses={204: None}, tags=["calendars"])
    def delete(self, request: Request, calendar_id: int) -> Response:
        services.calendar_delete(calendar=owned_calendar(request, calendar_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedView(APIView):
    """The private feed URL: POST makes a new one (the old stops working), DELETE revokes it."""

    @extend_schema(request=None, responses=CalendarSerializer, tags=["calendars"])
    def post(self, request: Request, calendar_id: int) -> Response:
        return _shown(request, services.calendar_feed_regenerate(calendar=owned_calendar(request, calendar_id)))

    @extend_schema(responses={204: None}, tags=["calendars"])
    def delete(self, request: Request, calendar_id: int) -> Response:
        services.calendar_feed_revoke(calendar=owned_calendar(request, calendar_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarIcsView(APIView):
    @extend_schema(
        responses={(200, "text/calendar"): OpenApiResponse(OpenApiTypes.STR, description="The calendar as iCalendar.")},
        tags=["calendars"],
    )
    def get(self, request: Request, calendar_id: int) -> HttpResponse:
        calendar = owned_calendar(request, calendar_id)
        response = HttpResponse(selectors.calendar_ics(calendar=calendar), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="calendar-{calendar.pk}.ics"'
        return response


class CalendarTextParser(BaseParser):
    media_type = "text/calendar"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        """The body as bytes (read one byte past the cap, so an oversized body is recognised)."""
        return bytes(stream.read(MAX_FEED_BYTES + 1)) if stream is not None else b""


def _import_text(request: Request) -> bytes:
    """The calendar sent as a text/calendar body or as the multipart field `file` (a file or a text field)."""
    upload = request.data.get("file") if hasattr(request.data, "get") else None
    if isinstance(request.data, bytes):
        data = request.data
    elif upload is not None and hasattr(upload, "read"):
        data = upload.read(MAX_FEED_BYTES + 1)
    elif isinstance(upload, str):
        data = upload.encode()
    else:
        raise ValidationError({"file": ["Send the calendar as a multipart field `file` or a text/calendar body."]})
    if len(data) > MAX_FEED_BYTES:
        raise RequestTooLarge("The calendar is larger than 10 MB.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Outlook's exports, as the importer reads them
    if not looks_like_icalendar(text):
        raise ValidationError({"file": ["Not an iCalendar file: it does not begin BEGIN:VCALENDAR."]})
    return bytes(data)


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
        calendar = owned_calendar(request, calendar_id)
        data = _import_text(request)
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
