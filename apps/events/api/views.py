from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import Http404, HttpResponse, HttpResponseBase
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination, OnePage
from apps.core.api.renderers import render_json
from apps.core.api.schema import CONDITIONAL_GET_PARAMETERS, error_response, not_modified_response
from apps.core.api.views import APIView
from apps.core.db_router import replica_reads
from apps.core.http_cache import Validators, mark_private, serve_public
from apps.core.taxonomy import CATEGORIES
from apps.core.time import weekend_window
from apps.events import public_cache, selectors
from apps.events.api.serializers import CategoryOut, EventDetailOut, EventOut, EventSearchParams, event_list_out
from apps.events.selectors_search import SearchRows
from apps.users import selectors as user_selectors
from apps.users.models import User


def _profile_timezone(request: Request) -> str | None:
    user = request.user
    if isinstance(user, User):
        return user_selectors.profile_for(user=user).timezone
    return None


# Query parameters that may repeat or hold several comma-separated values.
LIST_PARAMETERS = frozenset({"category", "time"})
# What an anonymous answer depends on besides the URL (a session or a token makes the caller signed in).
VARY = ("Accept", "Cookie", "Authorization")


def _rendered(request: Request, data: Any) -> HttpResponseBase:
    """JSON rendered here, so that the anonymous answer's bytes can be stored (the browsable API, under DEBUG only,
    goes through DRF's rendering and is never stored)."""
    if isinstance(request.accepted_renderer, JSONRenderer):
        return HttpResponse(render_json(data), content_type="application/json")
    return Response(data)


def _serve(
    request: Request,
    *parts: object,
    last_modified_at_least: datetime | None,
    render: Callable[[], HttpResponseBase],
) -> HttpResponseBase:
    """Signed-in callers get `render()` as private; anonymous ones the shared answer (apps.core.http_cache)."""
    if request.user.is_authenticated:
        return mark_private(render(), vary=VARY)
    state = public_cache.catalogue_state()
    validators = Validators.of(
        *parts,
        state.version,
        public_cache.code_generation(),
        request.accepted_media_type,
        request.build_absolute_uri("/"),  # the links in a page name the host
        last_modified=max(state.last_modified, last_modified_at_least or state.last_modified),
    )
    return serve_public(request, validators, render, max_age=public_cache.max_age(), vary=VARY)


class EventPagination(CursorPagination):
    ordering = ("start_utc", "id")  # type: ignore[assignment]  # DRF takes a tuple; its stubs say str


class EventDistancePagination(CursorPagination):
    ordering = ("distance_km", "id")  # type: ignore[assignment]


class EventListView(APIView):
    """Public search of the catalogue: canonical, not-cancelled events by default."""

    permission_classes = [AllowAny]
    pagination_class = EventPagination

    @extend_schema(
        parameters=[EventSearchParams, *CONDITIONAL_GET_PARAMETERS],
        responses={
            200: EventOut(many=True),
            304: not_modified_response(),
            # sort=distance needs near; weekend excludes starts_after/starts_before; starts_before > starts_after.
            400: error_response(400, "A parameter is unreadable, or parameters do not go together."),
        },
        tags=["events"],
    )
    @replica_reads()
    def get(self, request: Request) -> HttpResponseBase:
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
            # Anonymous answers are computed at the start of the clock step, so that they can be cached that long.
            now = timezone.now()
            not_over_at = now if request.user.is_authenticated else public_cache.clock_step(now)
            starts_after, starts_before = weekend_window(p["weekend"], p["tz"], now=not_over_at)
        search = selectors.EventSearch(
            near=p.get("near"),
            radius_km=p["radius_km"],
            starts_after=starts_after,
            starts_before=starts_before,
            categories=tuple(sorted(set(p.get("category", ())))),
            q=p.get("q", ""),
            price_max=p.get("price_max"),
            free=p.get("free"),
            sort=p["sort"],
            not_over_at=not_over_at,
            times_of_day=tuple(sorted(set(p.get("time", ())))),
        )

        def render() -> HttpResponseBase:
            paginator = EventDistancePagination() if search.sort == "distance" else self.pagination_class()
            rows: Any = SearchRows(search)  # what CursorPagination does to a queryset, on SQL compiled once
            page: list[dict[str, Any]] | None = paginator.paginate_queryset(rows, request, view=self)
            return _rendered(request, paginator.get_paginated_response(event_list_out(page or [])).data)

        # The search itself is the normalised question: spellings that ask the same share one cached answer.
        page_position = (query.get("cursor"), query.get("page_size"))
        return _serve(request, "events", search, page_position, last_modified_at_least=not_over_at, render=render)


class EventDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=CONDITIONAL_GET_PARAMETERS,
        responses={200: EventDetailOut, 304: not_modified_response()},
        tags=["events"],
    )
    @replica_reads()
    def get(self, request: Request, event_id: int) -> HttpResponseBase:
        def render() -> HttpResponseBase:
            event = selectors.event_detail(event_id=event_id)
            if event is None:
                raise Http404
            listings = selectors.event_listings(event=event)
            return _rendered(request, EventDetailOut(event, context={"listings": listings}).data)

        return _serve(request, "event", event_id, last_modified_at_least=None, render=render)


class CategoryListView(APIView):
    permission_classes = [AllowAny]
    pagination_class = OnePage  # the whole taxonomy

    @extend_schema(responses=CategoryOut(many=True), tags=["events"])
    def get(self, request: Request) -> Response:
        results: list[dict[str, Any]] = [{"slug": slug, "name": name} for slug, name in CATEGORIES.items()]
        return Response({"next": None, "previous": None, "results": results})
