"""/api/v1/groups/{id}/weekend: "Plan our weekend" for the group (docs/groups.md). Members only (404 otherwise)."""

from datetime import datetime
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.core.privacy import asks_not_to_be_tracked
from apps.groups.api.poll_serializers import WeekendIn, WeekendOut
from apps.groups.selectors import groups as group_selectors
from apps.groups.services import weekend as services
from apps.users.auth import request_user


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class WeekendView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=WeekendIn,
        responses={
            201: WeekendOut,
            400: error_response(400, "`weekend`: no day hours left in it; `meeting_point`: the group has none and "
                                     "you have no home to start from."),
        },
        tags=["groups"],
        description="Plans the weekend for the whole group: events in the time every sharing member has free, "
        "scored for all of them, in tours from the group's meeting point (else your home). The result is your draft "
        "itinerary (accept it, or propose its stops as a poll).",
    )  # fmt: skip
    def post(self, request: Request, group_id: int) -> Response:
        user = request_user(request)
        group = group_selectors.group_of(user=user, group_id=group_id)
        data = validated(WeekendIn, request.data)
        try:
            itinerary = services.group_weekend_plan(
                group=group, by=user, weekend=data["weekend"], track=not asks_not_to_be_tracked(request)
            )
        except services.NoMeetingPoint as exc:
            raise exceptions.ValidationError({"meeting_point": [str(exc)]}) from None
        except services.NothingLeft as exc:
            raise exceptions.ValidationError({"weekend": [str(exc)]}) from None
        ask = itinerary.request
        stops = itinerary.stops.select_related("event").order_by("day", "position")
        body: dict[str, Any] = {
            "itinerary_id": itinerary.pk,
            "url": reverse("api-itinerary", args=[itinerary.pk]),
            "start_utc": _utc(datetime.fromisoformat(ask["start"])),
            "end_utc": _utc(datetime.fromisoformat(ask["end"])),
            "meeting_point": list(ask["origin"]),
            "stops": [
                {"event_id": s.event_id, "title": s.event.title, "day": s.day, "start_utc": _utc(s.start),
                 "end_utc": _utc(s.end), "reasons": s.reasons}
                for s in stops
            ],
        }  # fmt: skip
        return Response(WeekendOut(body).data, status=201)
