"""GET /api/v1/recommendations and POST /api/v1/recommendations/feedback (docs/recommendations.md)."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.core.geo import LatLon
from apps.core.privacy import asks_not_to_be_tracked
from apps.core.time import weekend_window
from apps.recommendations import services
from apps.recommendations.api.serializers import (
    FeedbackIn,
    FeedbackOut,
    RecommendationListOut,
    RecommendationParams,
)
from apps.users import selectors as user_selectors
from apps.users.models import User

TAGS = ["recommendations"]


def list_data(served: services.RecommendationList) -> dict[str, Any]:
    """The list as RecommendationListOut serializes it."""
    return {
        "request_id": served.request_id,
        "ranker": served.ranker,
        "variant": served.variant,
        "model_version": served.model_version,
        "results": [{"rank": r.rank, "score": r.score, "reasons": r.reasons, "event": r.event} for r in served.results],
    }


class RecommendationListView(APIView):
    """A person's "for you" list for a weekend: ranked, diversified, each item with its reasons."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[RecommendationParams],
        responses={
            200: RecommendationListOut,
            400: error_response(400, "A parameter is unreadable or they do not go together; `near` is required "
                                     "without signing in; `ranker` is for staff only."),
        },
        description="Signed in: ranked for the person (the `recommendations-ranker` experiment's variant when it "
        "runs, else `learned`, falling back to `content` then `popularity` for little history). Anonymous: "
        "`popularity` around `near`. Each list's impressions are tracked once, server-side, unless `DNT: 1` or "
        "`Sec-GPC: 1`.",
        tags=TAGS,
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        user = request.user if isinstance(request.user, User) else None
        context = {
            "signed_in": user is not None,
            "is_staff": bool(user and user.is_staff),
            "default_tz": user_selectors.profile_for(user=user).timezone if user else None,
        }
        p = validated(RecommendationParams, request.query_params.dict(), context=context)
        now = timezone.now()
        if "start" in p:
            start, end = p["start"], p["end"]
        else:
            start, end = weekend_window(p.get("weekend", "this"), p["tz"], now=now)
        served = services.recommendations_serve(
            user=user,
            start=start,
            end=end,
            near=LatLon(*p["near"]) if "near" in p else None,
            tz=p["tz"],
            limit=p["limit"],
            ranker=p.get("ranker"),
            track=not asks_not_to_be_tracked(request),
            now=now,
        )
        return Response(RecommendationListOut(list_data(served)).data)


class FeedbackView(APIView):
    """Dismiss an event (it never comes back), or ask for more or less like it: in effect from the next list."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=FeedbackIn,
        responses={
            201: FeedbackOut,
            200: FeedbackOut,
            400: error_response(400, "An unknown action, or `event_id` names no event."),
        },
        description="201 the first time, 200 when the same feedback on the same event was already given. More "
        "like this replaces an earlier less like this on the same event, and the other way round.",
        tags=TAGS,
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = validated(FeedbackIn, request.data)
        user = request.user
        assert isinstance(user, User)
        try:
            feedback, created = services.feedback_record(
                user=user, event_id=data["event_id"], action=data["action"], track=not asks_not_to_be_tracked(request)
            )
        except services.NoSuchEvent:
            raise exceptions.ValidationError({"event_id": ["No such event."]}) from None
        body = FeedbackOut(feedback).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
