from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.views import APIView
from apps.core.taxonomy import CATEGORIES
from apps.core.time import weekend_window
from apps.events import selectors
from apps.events.api.serializers import CategoryOut, EventDetailOut, EventOut, EventSearchParams
from apps.users import selectors as user_selectors
from apps.users.models import User


def _profile_timezone(request: Request) -> str | None:
    user = request.user
    if isinstance(user, User):
        return user_selectors.profile_for(user=user).timezone
    return None


class EventPagination(CursorPagination):
    ordering = ("start_utc", "id")  # type: ignore[assignment]  # DRF takes a tuple; its stubs say str


class EventDistancePagination(CursorPagination):
    ordering = ("distance_km", "id")  # type: ignore[assignment]


class EventListView(APIView):
    """Public search of the catalogue: canonical, not-cancelled events by default."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[EventSearchParams, OpenApiParameter("cursor", OpenApiTypes.STR)],
        responses=EventOut(many=True),
        tags=["events"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params.copy()
        if "category" in params:
            params.setlist(
                "category", [c.strip() for v in params.getlist("category") for c in v.split(",") if c.strip()]
            )
        serializer = EventSearchParams(data=params, context={"default_tz": _profile_timezone(request)})
        serializer.is_valid(raise_exception=True)
        p = serializer.validated_data
        starts_after, starts_before = p.get("starts_after"), p.get("starts_before")
        if "weekend" in p:
            starts_after, starts_before = weekend_window(p["weekend"], p["tz"], now=timezone.now())
        events = selectors.events_search(
            selectors.EventSearch(
                near=p.get("near"),
                radius_km=p["radius_km"],
                starts_after=starts_after,
                starts_before=starts_before,
                categories=tuple(p.get("category", ())),
                q=p.get("q", ""),
                price_max=p.get("price_max"),
                free=p.get("free"),
                sort=p["sort"],
            )
        )
        paginator = EventDistancePagination() if p["sort"] == "distance" else EventPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(EventOut(page, many=True).data)


class EventDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=EventDetailOut, tags=["events"])
    def get(self, request: Request, event_id: int) -> Response:
        event = selectors.event_detail(event_id=event_id)
        if event is None:
            raise Http404
        listings = selectors.event_listings(event=event)
        return Response(EventDetailOut(event, context={"listings": listings}).data)


class CategoryListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=CategoryOut(many=True), tags=["events"])
    def get(self, request: Request) -> Response:
        results: list[dict[str, Any]] = [{"slug": slug, "name": name} for slug, name in CATEGORIES.items()]
        return Response({"next": None, "previous": None, "results": results})
