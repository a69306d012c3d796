"""/api/v1/itineraries: plan a weekend, read it, replan, swap, pin or remove a stop, accept (docs/itineraries.md).
A person's itineraries are theirs alone: anyone else's is a 404 for every method."""

import zoneinfo
from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.calendars.api.serializers import ConflictRefusalOut
from apps.core.api.errors import error_body
from apps.core.api.pagination import CursorPagination
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.core.privacy import asks_not_to_be_tracked
from apps.itineraries import selectors, services
from apps.itineraries.api.serializers import (
    AcceptIn,
    AlternativesOut,
    ItineraryIn,
    ItineraryOut,
    StopChangeIn,
    SwapIn,
)
from apps.itineraries.models import Itinerary
from apps.users import selectors as user_selectors
from apps.users.models import User

TAGS = ["itineraries"]


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def _own(request: Request, itinerary_id: int) -> Itinerary:
    return selectors.itinerary_of(owner=_user(request), itinerary_id=itinerary_id)


def _fresh(itinerary: Itinerary) -> Response:
    """The itinerary as stored now (its stops read again after a write)."""
    again = selectors.itinerary_of(owner=itinerary.owner, itinerary_id=itinerary.pk)
    return Response(ItineraryOut(again).data)


class ItineraryListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(responses={200: ItineraryOut(many=True)}, tags=TAGS, description="The person's itineraries, "
                   "newest first (expired drafts are gone).")  # fmt: skip
    def get(self, request: Request) -> Response:
        return self.paginated(request, selectors.itineraries_of(owner=_user(request)), ItineraryOut)

    @extend_schema(
        request=ItineraryIn,
        responses={
            201: ItineraryOut,
            400: error_response(400, "A field is unreadable or they do not go together; start_location \"home\" "
                                     "without a home in the profile; no day hours left in the window."),
        },
        description="Fills the person's free time in the window (this weekend by default) with the events their "
        "recommendations rank best that fit their calendar, travel, pace and budget: one tour a day from the start "
        "point and back. Must-include events that cannot fit are in `left_out` with the reason. A draft: it expires "
        "after a week unless accepted.",
        tags=TAGS,
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        user, now = _user(request), timezone.now()
        values = validated(ItineraryIn, request.data, context={"tz": user_selectors.profile_for(user=user).timezone})
        try:
            ask = selectors.ask_for(user=user, values=values, now=now)
        except selectors.NoStartLocation:
            raise exceptions.ValidationError(
                {"start_location": ['Your profile has no home: set one, or give {"lat": ..., "lon": ...}.']}
            ) from None
        except selectors.NothingLeft:
            field = "end" if "start" in values else "weekend"
            raise exceptions.ValidationError(
                {field: ["No day hours are left in this window; ask for a later one."]}
            ) from None
        itinerary = services.itinerary_create(owner=user, ask=ask, now=now, track=not asks_not_to_be_tracked(request))
        return Response(ItineraryOut(selectors.itinerary_of(owner=user, itinerary_id=itinerary.pk)).data, status=201)


class ItineraryDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ItineraryOut}, tags=TAGS)
    def get(self, request: Request, itinerary_id: int) -> Response:
        return Response(ItineraryOut(_own(request, itinerary_id)).data)

    @extend_schema(responses={204: None}, tags=TAGS, description="Plans already accepted stay on the calendar.")
    def delete(self, request: Request, itinerary_id: int) -> Response:
        _own(request, itinerary_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=AcceptIn,
        responses={
            200: ItineraryOut,
            400: error_response(400, "`stops` names a stop that is not in this itinerary."),
            409: error_response(409, "A stop clashes with the calendar as it is now: nothing was added; `conflicts` "
                                     "lists the clashes.", body=ConflictRefusalOut),
        },
        description="Puts the stops (all, or those listed) on the default calendar, each a plan following its "
        "catalogue event; all or nothing.",
        tags=TAGS,
    )  # fmt: skip
    def post(self, request: Request, itinerary_id: int) -> Response:
        itinerary = _own(request, itinerary_id)
        data = validated(AcceptIn, request.data)
        try:
            services.itinerary_accept(
                itinerary=itinerary, stop_ids=data.get("stops"), track=not asks_not_to_be_tracked(request)
            )
        except services.StopUnavailable as exc:
            raise exceptions.ValidationError({"stops": [str(exc)]}) from None
        except services.AcceptConflict as exc:
            body = error_body("conflict", str(exc))
            body["conflicts"] = [conflict.as_dict() for conflict in exc.conflicts]
            return Response(body, status=status.HTTP_409_CONFLICT)
        return _fresh(itinerary)


class ReplanView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: ItineraryOut}, tags=TAGS, description="Keeps accepted and pinned "
                   "stops where they are and fills the rest of the days again.")  # fmt: skip
    def post(self, request: Request, itinerary_id: int) -> Response:
        return _fresh(services.itinerary_replan(itinerary=_own(request, itinerary_id)))


class StopView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=StopChangeIn, responses={200: ItineraryOut}, tags=TAGS, description="Pin or unpin.")
    def patch(self, request: Request, itinerary_id: int, stop_id: int) -> Response:
        itinerary = _own(request, itinerary_id)
        data = validated(StopChangeIn, request.data, partial=True)
        stop = selectors.stop_of(itinerary=itinerary, stop_id=stop_id)
        if "pinned" in data:
            services.stop_pin(stop=stop, pinned=data["pinned"])
        return _fresh(itinerary)

    @extend_schema(responses={200: ItineraryOut}, tags=TAGS, description="Takes the stop out; its event stays out "
                   "of replans. An accepted stop's plan stays on the calendar.")  # fmt: skip
    def delete(self, request: Request, itinerary_id: int, stop_id: int) -> Response:
        itinerary = _own(request, itinerary_id)
        return _fresh(services.stop_remove(stop=selectors.stop_of(itinerary=itinerary, stop_id=stop_id)))


class AlternativesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: AlternativesOut}, tags=TAGS, description="The best events that fit in this "
                   "stop's place in its day, every other stop kept as it is.")  # fmt: skip
    def get(self, request: Request, itinerary_id: int, stop_id: int) -> Response:
        itinerary = _own(request, itinerary_id)
        stop = selectors.stop_of(itinerary=itinerary, stop_id=stop_id)
        problem, _ = selectors.swap_problem(stop=stop, now=timezone.now())
        found = selectors.alternatives(problem, day=stop.day)
        tz = itinerary.timezone
        body: dict[str, Any] = {
            "alternatives": [
                {"event": a.event, "start": _local(a.start, tz), "end": _local(a.end, tz), "score": a.score,
                 "reasons": a.reasons}
                for a in found
            ]
        }  # fmt: skip
        return Response(AlternativesOut(body).data)


class SwapView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=SwapIn,
        responses={200: ItineraryOut, 400: error_response(400, "`event_id` does not fit in this stop's place, or "
                                                               "the stop is accepted already.")},
        tags=TAGS,
        description="Puts one of the stop's alternatives in its place.",
    )  # fmt: skip
    def post(self, request: Request, itinerary_id: int, stop_id: int) -> Response:
        itinerary = _own(request, itinerary_id)
        stop = selectors.stop_of(itinerary=itinerary, stop_id=stop_id)
        data = validated(SwapIn, request.data)
        try:
            services.stop_swap(stop=stop, event_id=data["event_id"], track=not asks_not_to_be_tracked(request))
        except services.StopUnavailable as exc:
            raise exceptions.ValidationError({"event_id": [str(exc)]}) from None
        return _fresh(itinerary)


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).isoformat()
