"""What the connector contract (apps/events/tests/test_connector_contract.py) needs from a provider's fake.

Every connector in the source registry (`apps.events.sources.connector_classes`) is held to the contract, so
each provider's fake module, `apps/events/tests/fakes/<provider>.py`, names a `CONTRACT`: a `ContractKit` that
writes events the way the provider does (usable ones, and ones the connector must refuse) and fails the way it
documents (its rate-limit signals, its server errors, its broken bodies, its refusal of our credentials).
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

import pytest

from apps.events import services
from apps.events.models import Source
from apps.events.sources import connector_classes
from apps.events.sources.base import Connector
from apps.events.tests.fakes.network import FakeClock, FakeProvider, Responder

F = TypeVar("F", bound=FakeProvider)


class Unusable(NamedTuple):
    """An event as the provider may list it that the connector must refuse, under `provider_id` (None when the
    event has none), for `reason`."""

    event: Any
    provider_id: str | None
    reason: str


class ContractKit(ABC, Generic[F]):
    """A provider's fake, as the contract uses it.

    `rate_limits` names the provider's rate-limit signals, each making a responder that asks for a wait of so
    many seconds; `server_error` and `malformed_body` make its 5xx and a body it cannot have meant. By default
    the key and the base URL go in the settings the connector class names, a source is made from
    `source_fields`, and a fake is a `fake_class` serving what `serve` gives it.
    """

    provider: str
    fake_class: type[F]
    base_url = ""  # where the fake answers, for a connector whose base URL is a setting
    secret = ""  # the key the connector sends, which no error may repeat ("" when there is none)
    # What `services.source_create` is given besides the provider and the name.
    source_fields: dict[str, Any] = {}
    # The provider id of event `number` is `id_format.format(number)`.
    id_format: str
    # What a run's recorded error says after a malformed body, and after our credentials were refused.
    malformed_marker: str
    credentials_markers: tuple[str, ...]

    def __init__(
        self,
        *,
        rate_limits: dict[str, Callable[[FakeClock, float], Responder]],
        server_error: Callable[[int], Responder],
        malformed_body: Callable[[], Responder],
    ) -> None:
        self.rate_limits = rate_limits
        self.server_error = server_error
        self.malformed_body = malformed_body

    @property
    def connector_class(self) -> type[Connector]:
        return connector_classes()[self.provider]

    def configure(self, settings: Any, base_url: str | None = None) -> None:
        """Points the settings at the fake (at `base_url` for a real local server) and gives them the key."""
        if self.connector_class.key_setting:
            setattr(settings, self.connector_class.key_setting, self.secret)
        if self.connector_class.url_setting:
            setattr(settings, self.connector_class.url_setting, base_url or self.base_url)

    def settings_fixture(self) -> Any:
        """An autouse fixture configuring the settings for every test of the module that assigns it to a name (pytest
        collects it under that name)."""

        @pytest.fixture(autouse=True)
        def configured(settings: Any) -> None:
            self.configure(settings)

        return configured

    def reject_credentials(self, settings: Any, fake: FakeProvider) -> str:
        """Makes the provider refuse our credentials from the next request on; returns the rejected secret."""
        setattr(settings, self.connector_class.key_setting, "not-the-key")
        return "not-the-key"

    def misconfigure(self, settings: Any, source: Source) -> str:
        """Leaves the source unable to sync (no key, no usable URL); returns what the error names."""
        setattr(settings, self.connector_class.key_setting, "")
        return self.connector_class.key_setting

    def source(self, name: str, base_url: str | None = None) -> Source:
        """A saved source that the connector can sync (from `base_url`, when the source names its own URL)."""
        return services.source_create(provider=self.provider, name=name, **self.source_fields)

    def fake(self, clock: FakeClock, events: Sequence[Any] = ()) -> F:
        """The fake provider, serving `events` (as written by `event`)."""
        fake = self.fake_class(clock=clock)
        self.serve(fake, events)
        return fake

    def provider_id(self, number: int) -> str:
        """The provider id event `number` comes through with."""
        return self.id_format.format(number)

    @abstractmethod
    def serve(self, fake: F, events: Sequence[Any]) -> None:
        """From now on the fake serves `events` instead."""

    @abstractmethod
    def event(self, number: int, start: datetime, *, cancelled: bool = False) -> Any:
        """Event `number`, titled `title(number)`, starting at `start`, as the provider lists it."""

    @abstractmethod
    def undated_event(self, number: int, day: datetime) -> tuple[Any, str]:
        """Event `number` listed on `day` without a usable start, and why the connector refuses it."""

    @abstractmethod
    def unusable_events(self, day: datetime) -> list[Unusable]:
        """Events on `day`, numbered from 1, each broken in another way the connector must notice."""


def title(number: int) -> str:
    return f"Contract event {number}"
