"""A calendar's subscriptions: iCalendar URLs refreshed into it on the `sync` queue."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.calendars import selectors, services
from apps.calendars.api.serializers import SubscriptionInput, SubscriptionOut
from apps.calendars.api.views.calendars import owned_calendar
from apps.calendars.fetch import SubscriptionError
from apps.core.api.errors import Conflict
from apps.core.api.pagination import CursorPagination
from apps.core.api.schema import error_response
from apps.core.api.views import APIView, validated
from apps.users.auth import request_user

SUBSCRIBE_ERRORS = {409: error_response(409, "The calendar already subscribes to the URL, or has 50 subscriptions.")}


class SubscriptionListView(APIView):
    """A calendar's subscriptions: iCalendar URLs refreshed into it on the `sync` queue."""

    pagination_class = CursorPagination

    @extend_schema(responses=SubscriptionOut(many=True), tags=["calendars"])
    def get(self, request: Request, calendar_id: int) -> Response:
        calendar = owned_calendar(request, calendar_id)
        return self.paginated(request, selectors.subscriptions_of(calendar=calendar), SubscriptionOut)

    @extend_schema(request=SubscriptionInput, responses={201: SubscriptionOut, **SUBSCRIBE_ERRORS}, tags=["calendars"])
    def post(self, request: Request, calendar_id: int) -> Response:
        calendar = owned_calendar(request, calendar_id)
        url = validated(SubscriptionInput, request.data)["url"]
        try:
            subscription = services.subscription_create(calendar=calendar, url=url, refresh_on_commit=True)
        except services.SubscriptionConflict as exc:
            raise Conflict({exc.field: [str(exc)]}) from exc
        except SubscriptionError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        return Response(SubscriptionOut(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(APIView):
    @extend_schema(responses={204: None}, tags=["calendars"])
    def delete(self, request: Request, calendar_id: int, subscription_id: int) -> Response:
        subscription = selectors.subscription_of(
            owner=request_user(request), calendar_id=calendar_id, subscription_id=subscription_id
        )
        services.subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)
