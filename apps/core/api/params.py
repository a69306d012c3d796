"""The base of the serializers that read a view's query parameters."""

import copy
from typing import Any

from rest_framework import serializers


class QueryParams(serializers.Serializer[Any]):
    """Query parameters: read and validated, never saved.

    For every instance, DRF deep-copies each declared field, which runs the field's __init__ again on deep-copied
    arguments (help texts, the category choices): 0.3 ms of CPU for the catalogue search's parameters, a tenth of
    what a search costs (docs/benchmarks.md, fourth pass). Binding a field to its serializer sets only the field's
    own attributes (name, parent, label, source), so a shallow copy per instance is as separate as DRF needs; the
    copies share only what nothing changes while validating (validators, choices, a list field's child)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
