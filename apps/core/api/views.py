"""Base classes for every API view of the project, and what their handlers share."""

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView as DRFAPIView

from apps.core.api.schema import AutoSchema


class ThrottleFirstMixin:
    """Counts every request against the rate limits, including refused ones.

    DRF checks permissions before throttles and gives up at a bad token before either, so an anonymous
    client hammering a protected endpoint, or guessing tokens, would never be throttled.
    """

    def perform_authentication(self, request: Request) -> None:
        try:
            super().perform_authentication(request)  # type: ignore[misc]
        except exceptions.APIException:
            self.check_throttles(request)  # counted as the anonymous client it now is
            raise

    def check_permissions(self, request: Request) -> None:
        self.check_throttles(request)
        super().check_permissions(request)  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        if getattr(request, "_throttles_checked", False):
            return
        request._throttles_checked = True  # type: ignore[attr-defined]
        super().check_throttles(request)  # type: ignore[misc]


class APIView(ThrottleFirstMixin, DRFAPIView):
    schema = AutoSchema()  # declares the error responses that follow from the view's configuration

    def paginated(
        self, request: Request, items: Iterable[Any], serializer: type[serializers.BaseSerializer[Any]], **kwargs: Any
    ) -> Response:
        """One page of `items` in the view's pagination, each item through `serializer` (given `kwargs`)."""
        paginator = self.pagination_class()  # type: ignore[attr-defined]
        page = paginator.paginate_queryset(items, request, view=self)
        response: Response = paginator.get_paginated_response(serializer(page, many=True, **kwargs).data)
        return response


def validated(serializer: type[serializers.BaseSerializer[Any]], data: Any, **kwargs: Any) -> Any:
    """`data` as `serializer` (given `kwargs`: instance, partial, context) validates it; else the 400 naming
    each field at fault."""
    checked = serializer(data=data, **kwargs)
    checked.is_valid(raise_exception=True)
    return checked.validated_data
