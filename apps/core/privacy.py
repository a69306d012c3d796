"""What a request says about tracking: Do Not Track (`DNT: 1`) or Global Privacy Control (`Sec-GPC: 1`), which the
tracking endpoint and every server-side tracking honour alike (docs/analytics.md)."""

from django.http import HttpRequest


def asks_not_to_be_tracked(request: HttpRequest) -> bool:
    return request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"
