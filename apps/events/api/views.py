from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination, OnePage
from apps.core.api.schema import error_response
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


# Query parameters that may repeat or hold several comma-separated values.
LIST_PARAMETERS = frozenset({"category", "time"})


class EventPagination(CursorPagination):
    ordering = ("start_utc", "id")  # type: ignore[assignment]  # DRF takes a tuple; its stubs say str


class EventDistancePagination(CursorPagination):
    ordering = ("distance_km", "id")  # type: ignore[assignment]


class EventListView(APIView):
    """Public search of the catalogue: canonical, not-cancelled events by default."""

    permission_classes = [AllowAny]
    pagination_class = EventPagination

    @extend_schema(
        parameters=[EventSearchParams],
        responses={
            200: EventOut(many=True),
            # sort=distance needs near; weekend excludes starts_after/starts_before; starts_before > starts_after.
            400: error_response(400, "A parameter is unreadable, or parameters do not go together."),
        },
        tags=["events"],
    )
    def get(self, request: Request) -> Response:
        query = request.query_params
        # A plain dict, not the QueryDict: DRF reads an empty form value as an absent one, and "" is no sort.
        params: dict[str, Any] = {name: query.get(name) for name in query if name not in LIST_PARAMETERS}
        for name in LIST_PARAMETERS & set(query):
            # category=music,film reads as category=music&category=film; an empty part stays, to be refused.
            params[name] = [part for value in query.getlist(name) for part in value.split(",")]
        serializer = EventSearchParams(data=params, context={"default_tz": _profile_timezone(request)})
        serializer.is_valid(raise_exception=True)
        p = serializer.validated_data
        starts_after, starts_before = p.get("starts_after"), p.get("starts_before")
        not_over_at = None
        if "weekend" in p:
            not_over_at = timezone.now()
            starts_after, starts_before = weekend_window(p["weekend"], p["tz"], now=not_over_at)
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
                not_over_at=not_over_at,
                times_of_day=tuple(p.get("time", ())),
            )
        )
        paginator = EventDistancePagination() if p["sort"] == "distance" else self.pagination_class()
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
    pagination_class = OnePage  # the whole taxonomy

    @extend_schema(responses=CategoryOut(many=True), tags=["events"])
    def get(self, request: Request) -> Response:
        results: list[dict[str, Any]] = [{"slug": slug, "name": name} for slug, name in CATEGORIES.items()]
        return Response({"next": None, "previous": None, "results": results})
