from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.notifications import preferences, services
from apps.notifications.api.serializers import PreferencesSerializer
from apps.users.auth import request_user


class MyNotificationsView(APIView):
    @extend_schema(responses={200: PreferencesSerializer}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(PreferencesSerializer(services.preferences_for(user=request_user(request))).data)

    @extend_schema(
        request=PreferencesSerializer,
        responses={
            200: PreferencesSerializer,
            400: error_response(400, "Invalid input: `error.fields` names each field at fault; nothing is saved."),
        },
        tags=["me"],
    )
    def patch(self, request: Request) -> Response:
        changes = validated(PreferencesSerializer, request.data, partial=True)
        prefs = preferences.preferences_update(user=request_user(request), data=changes)
        return Response(PreferencesSerializer(prefs).data)
