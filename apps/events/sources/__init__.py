"""Provider connectors, one module each, behind the interface and shared plumbing in base.py (coerce.py reads
the loosely typed values providers send). `connector_classes` is the registry: a connector listed there is
synced and held to the connector contract (apps/events/tests/test_connector_contract.py)."""

from typing import TYPE_CHECKING

from apps.events.sources.base import Connector, SourceConfigError

if TYPE_CHECKING:
    from apps.events.models import Source


def connector_classes() -> dict[str, type[Connector]]:
    from apps.events.sources.eventbrite import EventbriteConnector
    from apps.events.sources.ics import IcsConnector
    from apps.events.sources.meetup import MeetupConnector
    from apps.events.sources.ticketmaster import TicketmasterConnector

    return {c.provider: c for c in (TicketmasterConnector, EventbriteConnector, MeetupConnector, IcsConnector)}


def connector_for(source: "Source") -> Connector:
    try:
        cls = connector_classes()[source.provider]
    except KeyError:
        raise SourceConfigError(f"No connector syncs {source.provider!r} sources.") from None
    return cls(source)
