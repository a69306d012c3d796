"""Conditional GETs and shared caching of public reads (docs/api.md, "Caching").

A public read answers every anonymous caller alike (the catalogue). Its view computes `Validators` (an ETag and a
Last-Modified) from what the answer depends on *before* doing the work, so a caller that already holds this
version gets a 304 for the price of a few cache reads; otherwise the body comes from the shared cache (Redis) or
is rendered and stored there, and the answer says `public, max-age=N` with the validators. Whatever a signed-in
person sees is `private, no-store`: it never reaches the shared cache and never comes from it (`mark_private`).
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.template.response import SimpleTemplateResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date, parse_etags, parse_http_date_safe

# How long a stored body is kept. Keys carry the catalogue's version, so a change makes them unreachable at once;
# this only bounds the memory that unreachable entries hold.
STORED_SECONDS = 3600
# Headers the validators and the caching rules set on every answer: never stored with a body.
R = TypeVar("R", bound=HttpResponseBase)
_OWN_HEADERS = frozenset({"etag", "last-modified", "cache-control", "vary", "content-length", "expires"})


StoredBody = tuple[list[tuple[str, str]], bytes]  # headers to replay, and the body


class _Recent:
    """The most recently served public bodies, in this process: a hot question skips the Redis round trip and the
    unpickling. Safe without any invalidation of its own: keys carry the validators, and so the catalogue version."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, StoredBody] = OrderedDict()
        self.lock = threading.Lock()  # with GUNICORN_THREADS > 1 a worker serves requests on several threads

    def get(self, key: str) -> StoredBody | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, key: str, value: StoredBody) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_recent = _Recent(size=256)


@dataclass(frozen=True)
class Validators:
    etag: str  # weak (W/"..."): the same version of the answer, not necessarily the same bytes on the wire
    last_modified: datetime

    @classmethod
    def of(cls, *parts: object, last_modified: datetime) -> "Validators":
        """Validators for an answer that is a function of `parts` (reprs that are stable: str, int, tuples,
        frozen dataclasses, datetimes)."""
        digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
        return cls(etag=f'W/"{digest}"', last_modified=last_modified)

    @property
    def cache_key(self) -> str:
        return f"public:{self.etag[3:-1]}"


def is_fresh(request: HttpRequest, validators: Validators) -> bool:
    """The caller's copy is current: If-None-Match names the ETag (weak comparison), or, only when there is no
    If-None-Match, If-Modified-Since is not before Last-Modified (RFC 9110, 13.2.2)."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.removeprefix("W/") for tag in parse_etags(if_none_match)}
        return "*" in tags or validators.etag.removeprefix("W/") in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(validators.last_modified.timestamp()) <= since


def mark_public(response: R, validators: Validators, *, max_age: int, vary: Sequence[str]) -> R:
    response["ETag"] = validators.etag
    response["Last-Modified"] = http_date(validators.last_modified.timestamp())
    patch_cache_control(response, public=True, max_age=max_age)
    patch_vary_headers(response, vary)
    return response


def mark_private(response: R, *, vary: Sequence[str] = ()) -> R:
    """Personal: no shared cache may keep it, and no browser cache either (a shared computer)."""
    for header in ("ETag", "Last-Modified"):
        if header in response:
            del response[header]
    patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, vary)
    return response


def serve_public(
    request: HttpRequest,
    validators: Validators,
    render: Callable[[], HttpResponseBase],
    *,
    max_age: int,
    vary: Sequence[str],
) -> HttpResponseBase:
    """The anonymous answer: a 304 when the caller's copy is current; else the stored body, or `render()`'s,
    stored when it is a rendered 200. Anything else `render()` gives (a redirect, a 404) passes through as is.

    A body that put a CSRF token in the page (and so a cookie on the answer) is personal: it is neither stored
    nor marked public. Public pages therefore render without one (docs/api.md, "Caching")."""
    if is_fresh(request, validators):
        return mark_public(HttpResponseNotModified(), validators, max_age=max_age, vary=vary)
    stored = _recent.get(validators.cache_key)
    if stored is None:
        stored = cache.get(validators.cache_key)
        if stored is not None:
            _recent.put(validators.cache_key, stored)
    if stored is not None:
        headers, body = stored
        response: HttpResponseBase = HttpResponse(body)
        for name, value in headers:
            response[name] = value
        return mark_public(response, validators, max_age=max_age, vary=vary)
    response = render()
    if response.status_code != 200:
        return response
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or response.cookies:
        return mark_private(response, vary=vary)
    if isinstance(response, HttpResponse) and not isinstance(response, SimpleTemplateResponse):
        headers = [(name, value) for name, value in response.items() if name.lower() not in _OWN_HEADERS]
        cache.set(validators.cache_key, (headers, response.content), STORED_SECONDS)
        _recent.put(validators.cache_key, (headers, response.content))
    return mark_public(response, validators, max_age=max_age, vary=vary)
