"""The experiments API, for staff only: create, start, stop, look up a unit's variant, read the results."""

from collections.abc import Callable

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analytics import selectors, services
from apps.analytics.api.serializers import (
    AssignmentOut,
    AssignmentParams,
    ExperimentCreateIn,
    ExperimentOut,
    ResultsOut,
    TrackIn,
    TrackOut,
)
from apps.analytics.models import KEY_PATTERN, Experiment
from apps.analytics.receivers import ANONYMOUS_COOKIE
from apps.core.api.errors import Conflict
from apps.core.api.fields import openapi_pattern
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.core.db_router import replica_reads, writes_nothing_read_back
from apps.core.privacy import asks_not_to_be_tracked

STAFF_ONLY = {
    403: error_response(403, "Refused: staff only (and a browser session's unsafe request needs its CSRF token).")
}
TAGS = ["experiments"]
# Any text reaches the view (a JSON 404 when no experiment has it as key); the schema says what a key looks like.
KEY = OpenApiParameter(
    "key", str, OpenApiParameter.PATH, description="The experiment's key.", pattern=openapi_pattern(KEY_PATTERN)
)


def _experiment(key: str) -> Experiment:
    experiment = selectors.experiment_by_key(key=key)
    if experiment is None:
        raise Http404
    return experiment


class StaffAPIView(APIView):
    """Staff only: a signed-in person who is not staff gets 403, an anonymous client 401."""

    permission_classes = [IsAdminUser]


class ExperimentListView(StaffAPIView):
    """Creates a draft experiment: nobody is assigned until it is started."""

    @extend_schema(
        request=ExperimentCreateIn,
        responses={
            201: ExperimentOut,
            400: error_response(400, "Invalid input: `error.fields` names each field at fault (weights not adding "
                                     "up to 100, repeated or missing `control` variant keys are `variants`)."),
            409: error_response(409, "An experiment with this key already exists (`error.fields.key`)."),
            **STAFF_ONLY,
        },
        tags=TAGS,
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        values = validated(ExperimentCreateIn, request.data)
        try:
            experiment = services.experiment_create(**values)
        except services.ExperimentKeyTaken as exc:
            raise Conflict({"key": [str(exc)]}) from exc
        return Response(ExperimentOut(experiment).data, status=status.HTTP_201_CREATED)


REFUSED = error_response(409, "The experiment is not in the state this needs (`error.fields.status`).")


def _moved(key: str, transition: Callable[..., Experiment]) -> Response:
    try:
        experiment = transition(experiment=_experiment(key))
    except services.TransitionRefused as exc:
        raise Conflict({"status": [str(exc)]}) from exc
    return Response(ExperimentOut(experiment).data)


class ExperimentStartView(StaffAPIView):
    @extend_schema(
        request=None,
        parameters=[KEY],
        responses={200: ExperimentOut, 409: REFUSED, **STAFF_ONLY},
        description="draft → running: units get variants and their exposures are logged from now on.",
        tags=TAGS,
    )
    def post(self, request: Request, key: str) -> Response:
        return _moved(key, services.experiment_start)


class ExperimentStopView(StaffAPIView):
    @extend_schema(
        request=None,
        parameters=[KEY],
        responses={200: ExperimentOut, 409: REFUSED, **STAFF_ONLY},
        description="running → stopped: no more assignments; the results keep what was counted until now.",
        tags=TAGS,
    )
    def post(self, request: Request, key: str) -> Response:
        return _moved(key, services.experiment_stop)


class ExperimentAssignmentView(StaffAPIView):
    @extend_schema(
        parameters=[KEY, AssignmentParams],
        responses={
            200: AssignmentOut,
            400: error_response(400, "unit_id is missing, or not 1 to 64 printable ASCII characters."),
            **STAFF_ONLY,
        },
        description="The unit's variant, logging its exposure the first time (as the app's own calls do); "
        "null while the experiment is a draft or once stopped, and then nothing is logged.",
        tags=TAGS,
    )
    def get(self, request: Request, key: str) -> Response:
        experiment = _experiment(key)
        unit_id = validated(AssignmentParams, request.query_params)["unit_id"]
        return Response({"variant": services.experiment_assign(experiment=experiment, unit_id=unit_id)})


class ExperimentResultsView(StaffAPIView):
    """Per variant of the primary metric and of each guardrail: units, conversions, rate, lift against the control
    with its 95% interval, the fixed and the sequential p-values; and the sample-ratio check. Computed from the
    raw exposures and conversions on every request."""

    @extend_schema(parameters=[KEY], responses={200: ResultsOut, **STAFF_ONLY}, tags=TAGS)
    @replica_reads()
    def get(self, request: Request, key: str) -> Response:
        results = selectors.experiment_results(experiment=_experiment(key))
        return Response(ResultsOut(selectors.results_data(results)).data)


@writes_nothing_read_back  # beacons on every page: they must not keep a browsing person on the primary
class TrackView(APIView):
    """Tracking from pages and API clients, signed in or not (docs/analytics.md)."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=TrackIn,
        responses={
            202: TrackOut,
            400: error_response(400, "The body is not JSON, or `events` is missing, not a list of objects or longer "
                                     "than 500 (`error.fields.events`): nothing is stored."),
            413: error_response(413),
        },
        description="Stores a batch of tracked events. Each event is checked alone: a bad one is refused (its index "
        "and reason in `refused`) and the others are stored; an id already stored counts as a duplicate. The user "
        "is the signed-in person; otherwise `anonymous_id`, or the `wp_aid` cookie. A clock off by more than a day "
        "is replaced by the time received. Under `DNT: 1` or `Sec-GPC: 1` nothing is stored and every event is "
        "refused as `do_not_track`.",
        tags=["tracking"],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        try:
            data = request.data
        except exceptions.ParseError as exc:
            raise exceptions.ValidationError({"events": [f"The body is not JSON: {exc.detail}"]}) from exc
        events = validated(TrackIn, data)["events"]
        outcome = services.tracking_record(
            events=events,
            user_id=request.user.pk if request.user.is_authenticated else None,
            anonymous_id=request.COOKIES.get(ANONYMOUS_COOKIE, ""),
            do_not_track=asks_not_to_be_tracked(request),
        )
        body = {"accepted": outcome.accepted, "duplicates": outcome.duplicates, "refused": outcome.refused}
        return Response(TrackOut(body).data, status=status.HTTP_202_ACCEPTED)
