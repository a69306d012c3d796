from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.pagination import CursorPagination as BaseCursorPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100


def page_size_parameter() -> dict[str, Any]:
    return {
        "name": "page_size",
        "required": False,
        "in": "query",
        "description": f"Results per page (default 20, at most {MAX_PAGE_SIZE}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    }


def page_schema(results: dict[str, Any]) -> dict[str, Any]:
    """{"next": url|null, "previous": url|null, "results": [...]}: every list's shape."""
    link = {"type": "string", "nullable": True, "format": "uri"}
    return {
        "type": "object",
        "required": ["next", "previous", "results"],
        "properties": {"next": link, "previous": link, "results": results},
    }


class CursorPagination(BaseCursorPagination):
    """Cursor pagination with a `page_size` parameter (default 20, at most 100).

    A page_size that is not a whole number from 1 to 100 is refused (400 naming it) rather than quietly
    replaced by the default; a cursor that is not one of ours is DRF's 404.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-pk"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({"page_size": [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return page_schema(schema)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` or `previous` link's cursor.",
                "schema": {"type": "string"},
            },
            page_size_parameter(),
        ]


class OnePage(BasePagination):
    """For lists that always fit in one page (the taxonomy, a bounded window): the list shape, no cursor."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return page_schema(schema)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return []
