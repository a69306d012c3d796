from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.errors import ErrorSerializer
from apps.core.api.schema import error_response
from apps.core.api.throttling import AuthAccountThrottle, AuthIpThrottle, ClientRateThrottle
from apps.core.api.views import APIView, validated
from apps.users import selectors, services
from apps.users.api.serializers import (
    MeSerializer,
    RefreshSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    me_data,
)
from apps.users.auth import request_user

T = TypeVar("T")


class _TokenEndpoint(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientRateThrottle, AuthIpThrottle, AuthAccountThrottle]

    def get_authenticate_header(self, request: Request) -> str:
        # With no authentication classes DRF would turn a failed log-in into 403; it is a 401.
        return 'Bearer realm="api"'


SIGN_IN_BLOCKED = "Too many failed sign-in attempts."


class TokenObtainView(_TokenEndpoint):
    @extend_schema(
        request=TokenObtainSerializer,
        responses={
            200: TokenPairSerializer,
            400: OpenApiResponse(ErrorSerializer, description="The email or the password is missing or malformed."),
            401: OpenApiResponse(ErrorSerializer, description="No active account with this email and password."),
            429: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Too many attempts: from this client, or for this email, whether or not it has an account "
                    "(then even the right password is refused until Retry-After has passed)."
                ),
            ),
        },
        parameters=[
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[429],
                description="Seconds to wait before trying again.",
            )
        ],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        credentials = validated(TokenObtainSerializer, request.data)
        try:
            pair = services.token_obtain(request=request._request, **credentials)
        except services.SignInBlocked as exc:
            # The same answer for an email with an account and one without.
            raise Throttled(wait=exc.retry_after, detail=SIGN_IN_BLOCKED) from exc
        except services.InvalidCredentials as exc:
            raise AuthenticationFailed("No active account with these credentials.", code="invalid_credentials") from exc
        return Response({"access": pair.access, "refresh": pair.refresh})


REFRESH_REFUSED = {401: error_response(401, "The refresh token is invalid, expired or already used.")}


def _with_refresh_token(request: Request, use: Callable[[str], T]) -> T:
    """`use` applied to the refresh token sent; a token it finds invalid is a 401."""
    raw_refresh = validated(RefreshSerializer, request.data)["refresh"]
    try:
        return use(raw_refresh)
    except services.InvalidRefreshToken as exc:
        raise AuthenticationFailed(str(exc), code="token_not_valid") from exc


class TokenRefreshView(_TokenEndpoint):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer, **REFRESH_REFUSED}, tags=["auth"])
    def post(self, request: Request) -> Response:
        pair = _with_refresh_token(request, lambda raw: services.token_refresh(raw_refresh=raw))
        return Response({"access": pair.access, "refresh": pair.refresh})


class LogoutView(_TokenEndpoint):
    @extend_schema(
        request=RefreshSerializer,
        responses={204: OpenApiResponse(description="Revoked."), **REFRESH_REFUSED},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        _with_refresh_token(request, lambda raw: services.token_revoke(raw_refresh=raw))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(me_data(selectors.profile_for(user=request_user(request))))

    @extend_schema(
        request=MeSerializer,
        responses={
            200: MeSerializer,
            400: error_response(400, "Invalid input, alone or together (home_lat and home_lon are set together)."),
        },
        tags=["me"],
    )
    def patch(self, request: Request) -> Response:
        profile = selectors.profile_for(user=request_user(request))
        changes = validated(MeSerializer, request.data, instance=profile, partial=True)
        profile = services.profile_update(profile=profile, data=changes)
        return Response(MeSerializer(profile).data)

    @extend_schema(responses={204: OpenApiResponse(description="The account and all its data are gone.")}, tags=["me"])
    def delete(self, request: Request) -> Response:
        services.user_delete(user=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(APIView):
    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Everything we hold about you, as JSON.")},
        tags=["me"],
    )
    def get(self, request: Request) -> HttpResponse:
        response = Response(selectors.user_export(user=request_user(request)))
        response["Content-Disposition"] = 'attachment; filename="weekend-planner-export.json"'
        return response
