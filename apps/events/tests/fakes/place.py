"""The facts of a venue, which each provider's fake writes in its own shape with its `venue(venue_id, place)`.

A test that needs another venue changes one of the named places: `dataclasses.replace(BROOKLYN_BOWL, lat=123.0)`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    name: str
    street: str
    city: str
    postal_code: str
    lat: float | None
    lon: float | None
    region: str = ""  # the state or province, for a provider that names one
    country: str = ""  # ISO 3166-1 alpha-2, as the provider writes it
