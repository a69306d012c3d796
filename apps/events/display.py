"""How an event reads on a page: its times, zone, distance and price as short text. Pure functions, used by the
events pages and by the pages of the apps above that show events (recommendations' "For you")."""

import zoneinfo
from decimal import Decimal

from django.utils import dateformat

from apps.events.models import Event

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def time_text(event: Event, zone: zoneinfo.ZoneInfo) -> str:
    """ "19:00–21:00", "22:00–Sun 02:00", "All day" or "Time to be announced", by the clock of `zone`."""
    if event.time_tba:
        return "Time to be announced"
    if event.all_day:
        return "All day"
    start = event.start_utc.astimezone(zone)
    if event.end_utc is None:
        return dateformat.format(start, "H:i")
    end = event.end_utc.astimezone(zone)
    end_text = dateformat.format(end, "H:i" if end.date() == start.date() else "D H:i")
    return f"{dateformat.format(start, 'H:i')}–{end_text}"


def zone_name(tz: str) -> str:
    """ "Europe/Berlin" -> "Berlin time"; "UTC" stays "UTC"."""
    if "/" not in tz:
        return tz
    return f"{tz.rsplit('/', 1)[1].replace('_', ' ')} time"


def km_text(km: float) -> str:
    if km < 1:
        return f"{max(10, round(km * 1000, -1)):.0f} m"
    return f"{km:.1f} km" if km < 10 else f"{km:.0f} km"


def price_text(event: Event) -> str:
    """ "Free", "€15", "€15–30", "Up to €30", "15–30 CHF" or "Price not announced"."""
    if event.is_free:
        return "Free"
    low, high = event.price_min, event.price_max
    if low is None and high is None:
        return "Price not announced"
    if low is not None and high is not None and high != low:
        amount = f"{_amount(low)}–{_amount(high)}"
    else:
        amount = _amount(low if low is not None else high)
    symbol = CURRENCY_SYMBOLS.get(event.currency.upper())
    money = f"{symbol}{amount}" if symbol else f"{amount} {event.currency.upper()}".strip()
    if low is None:
        return f"Up to {money}"
    return money


def _amount(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:.2f}"
    return text.removesuffix(".00")
