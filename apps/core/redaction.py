"""One place that knows what a secret looks like, used wherever text leaves the process.

`redact_text` removes from any text the secret values this deployment holds (the settings that are keys,
passwords and tokens, database and broker passwords, every line of a PEM private key) and the shapes
secrets take in messages whatever their value: `apikey=...` and other secret-named query or form
parameters, passwords inside URLs, `Bearer` / `Basic` credentials, JWTs, Google OAuth tokens, PEM private
key blocks, and the token of a private calendar feed (`/feeds/<token>.ics`). `redact` does the same through
dicts and lists and blanks the values of secret-named keys.

Users of it: the JSON log formatter (apps.core.logging: every line, traceback included), the exception
reporter and its filter (DEFAULT_EXCEPTION_REPORTER / DEFAULT_EXCEPTION_REPORTER_FILTER: the DEBUG page and
the admins' error mail), the error mail's subject, the messages of `apps.core.http.ProviderError` (provider
clients put keys in query strings), SyncRun.error and Subscription.last_error.
"""

import functools
import html
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

REDACTED = "[redacted]"
# A known secret shorter than this is not searched for: it would blank ordinary words.
MIN_SECRET_LENGTH = 8
CLIP_MARK = "\N{HORIZONTAL ELLIPSIS}"  # how apps.calendars.ical clips what it quotes

# Names (log keys, variables, headers, cookies, form fields) whose values are secrets whatever they hold.
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authorization|cookie|sessionid|csrf|api_?key|private_?key|"
    r"signing_?key|encryption_?key|signature|credential|bearer",
    re.IGNORECASE,
)
# Settings whose values error reports never show: Django's own list (API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|
# HTTP_COOKIE) plus ours. Broad on purpose: hiding AUTH_USER_MODEL in a report costs nothing.
SECRET_SETTING = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|CREDENTIAL|PRIVATE|DSN|WEBHOOK", re.IGNORECASE
)
# The settings whose values are searched for in text, by how their names end: a name that merely contains
# AUTH, KEY or PASSWORD (AUTH_USER_MODEL, JWT_PUBLIC_KEY, PASSWORD_HASHERS) holds nothing secret, and searching
# for its value would blank ordinary words.
KNOWN_SECRET_SETTING = re.compile(
    r"(^|_)(SECRET|SECRET_KEY|SECRET_KEY_FALLBACKS|PASSWORD|PRIVATE_KEY|API_KEY|ENCRYPTION_KEY|SIGNING_KEY|"
    r"TOKEN|CREDENTIALS?|WEBHOOK_URL|DSN)$",
    re.IGNORECASE,
)
# Keys inside dict settings (DATABASES, SIMPLE_JWT, SOCIALACCOUNT_PROVIDERS) whose values are secrets.
NESTED_SECRET_KEY = re.compile(r"PASSWORD|SECRET|SECRET_KEY|SIGNING_KEY|API_KEY|PRIVATE_KEY|TOKEN", re.IGNORECASE)
# Settings that are URLs of services: their passwords are secrets, the rest is not.
URL_SETTINGS = ("DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")

_PARAM_NAME = (
    r"[\w.\-\[\]]*(?:key|token|secret|passw(?:or)?d|signature|sig|session(?:id)?|csrf\w*|auth\w*|"
    r"code|credential|jwt)[\w.\-\[\]]*"
)
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, in raw form or repr'd with literal \n.
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
        f"-----BEGIN PRIVATE KEY-----{REDACTED}-----END PRIVATE KEY-----",
    ),
    # Authorization header values (as the header writes them: "token not valid" in a message is left alone).
    (re.compile(r"\b(Bearer|bearer|Basic|basic|Token|JWT)(\s+|%20|\+)[A-Za-z0-9._~+/\-]{16,}=*"), rf"\1 {REDACTED}"),
    # JWTs (access and refresh tokens, ID tokens) wherever they appear.
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    # Google OAuth access and refresh tokens.
    (re.compile(r"\bya29\.[A-Za-z0-9_\-.]+"), REDACTED),
    (re.compile(r"(?<![\w/])1//[A-Za-z0-9_\-]{20,}"), REDACTED),
    # Passwords inside URLs: scheme://user:PASSWORD@host.
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"<>]*:)[^\s@/'\"<>]+(@)"), rf"\1{REDACTED}\2"),
    # Secret-named parameters in query strings, form bodies, cookies and log text: apikey=..., token=...
    (
        re.compile(rf"(?<![\w\-])({_PARAM_NAME})(=|%3D)(?!\[redacted\])[^&;\s'\"<>#,)\]]+", re.IGNORECASE),
        rf"\1\2{REDACTED}",
    ),
    # Secret-named keys in reprs and JSON: 'password': 'x', "api_key": "x".
    (
        re.compile(
            r"""((['"])[\w\-]*(?:passw(?:or)?d|secret|token|api_?key|authorization|cookie)[\w\-]*\2\s*:\s*)(['"]).*?\3""",
            re.I,
        ),
        rf"\1'{REDACTED}'",
    ),
    # The private calendar feed: the token in the path is the only credential.
    (re.compile(r"(/feeds/)[^/\s'\"<>?#]+(\.ics)"), rf"\1{REDACTED}\2"),
)


# What a text must hold for any of PATTERNS to match in it: the key block's marker, the authorization words, "eyJ",
# "ya29.", "1//", "://", "=" or its encoded form, a quote, the feed path. A request's log line holds two values never
# seen before (its timestamp and request id), which the memo below cannot spare: one search for none of these
# instead of the nine shapes took such a value from 18-22 µs to 2 µs. A new shape must add what it needs here
# (apps/core/tests/test_redaction_shapes.py holds an example of each).
SHAPE_MARKS = re.compile(r"-----BEGIN|[Bb]earer|[Bb]asic|Token|JWT|eyJ|ya29\.|1//|://|=|%3[Dd]|['\"]|/feeds/")


def is_secret_name(name: object) -> bool:
    return isinstance(name, str) and bool(SECRET_NAME.search(name))


def _looks_random(piece: str) -> bool:
    """A part of a URL that is a token ("private-3f9c2e7a41b8", a feed id), not a word ("calendar", "basic.ics")
    that would be blanked wherever it appears."""
    return len(piece) >= 12 and any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece)


def _variants(secret: str) -> set[str]:
    """The forms a secret value takes in text: itself, HTML- and URL-encoded, each long line on its own (a
    repr shows a PEM key's lines joined by a literal backslash-n), and for a URL whose path or query is the
    secret (a private calendar) its path, query and each of their parts: the host names nobody's secret."""
    found = {secret, html.escape(secret), quote_plus(secret)}
    for line in secret.splitlines():
        line = line.strip()
        if len(line) >= MIN_SECRET_LENGTH and not line.startswith("-----"):
            found.update({line, html.escape(line)})
    if "://" in secret and "\n" not in secret:
        try:
            parts = urlsplit(secret)
        except ValueError:
            parts = None
        if parts is not None and (parts.path.strip("/") or parts.query):
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            found.update({target, unquote(target), parts.path, unquote(parts.path)})
            pieces = [*parts.path.split("/"), *(value for _name, value in parse_qsl(parts.query))]
            found.update(piece for piece in pieces if _looks_random(piece))
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def _collect(value: object, into: set[str]) -> None:
    if isinstance(value, str):
        into.update(_variants(value.strip()))
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, into)


def _secret_values_in(value: object, *, name: str, into: set[str]) -> None:
    """Values under secret-named keys, inside nested settings (SIMPLE_JWT, DATABASES, SOCIALACCOUNT_PROVIDERS)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if NESTED_SECRET_KEY.fullmatch(str(key)):
                _collect(item, into)
            else:
                _secret_values_in(item, name=str(key), into=into)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _secret_values_in(item, name=name, into=into)


@functools.cache
def known_secrets() -> tuple[str, ...]:
    """Every secret value of this deployment's settings, longest first (so a key inside a longer one is
    replaced as part of it). Recomputed when a setting changes (tests)."""
    if not settings.configured:
        return ()
    found: set[str] = set()
    for name in dir(settings):
        if not name.isupper():
            continue
        value = getattr(settings, name, None)
        if KNOWN_SECRET_SETTING.search(name):
            _collect(value, found)
        elif name in URL_SETTINGS and isinstance(value, str):
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.update(_variants(password))
        else:
            _secret_values_in(value, name=name, into=found)
    for alias in getattr(settings, "DATABASES", {}).values():
        _collect(alias.get("PASSWORD", ""), found)
    # Every configured encryption key, including those a rotation keeps for decrypting (ENCRYPTION_KEY_NEXT and
    # ENCRYPTION_KEY_FALLBACKS): the derived Fernet key is as secret as the setting.
    encryption_keys = [
        getattr(settings, "ENCRYPTION_KEY", ""),
        getattr(settings, "ENCRYPTION_KEY_NEXT", ""),
        *getattr(settings, "ENCRYPTION_KEY_FALLBACKS", ()),
    ]
    for encryption_key in (str(key or "").strip() for key in encryption_keys):
        if encryption_key:
            from apps.core.encryption import fernet_key

            found.update(_variants(fernet_key(encryption_key).decode("ascii")))
    return tuple(sorted(found, key=len, reverse=True))


# Values this context (a request, a task) has encrypted or decrypted: what apps.core.encryption protects at rest
# (private subscription URLs, OAuth tokens, second-factor secrets) is as secret in a log line or an error report.
MAX_REMEMBERED = 64
_remembered: ContextVar[tuple[str, ...]] = ContextVar("redaction_remembered", default=())


def remember_secret(value: str) -> None:
    """From now on in this context, `value` is redacted like a configured secret."""
    value = value.strip()
    current = _remembered.get()
    if len(value) >= MIN_SECRET_LENGTH and value not in current:
        _remembered.set((*current, value)[-MAX_REMEMBERED:])


def forget_secrets() -> None:
    """A new request starts with nothing remembered (RequestContextMiddleware)."""
    _remembered.set(())


@receiver(setting_changed)
def _settings_changed(**_kwargs: Any) -> None:
    known_secrets.cache_clear()
    _redact_short.cache_clear()


def _redact_clipped(text: str, secrets: Iterable[str]) -> str:
    """A message clipped to a length ("...private-3f9c2e…") may end inside a secret: its
    first characters are as secret as the rest."""
    for secret in secrets:
        for length in range(len(secret) - 1, MIN_SECRET_LENGTH - 1, -1):
            clipped = secret[:length] + CLIP_MARK
            if clipped in text:
                text = text.replace(clipped, REDACTED + CLIP_MARK)
    return text


def redact_text(text: str, *, also: Iterable[str] = ()) -> str:
    """`text` without the deployment's secrets, the secret shapes above, or the extra values in `also`
    (for example a private URL that is the secret of one record)."""
    if not text:
        return text
    extra: set[str] = set()
    for value in (*also, *_remembered.get()):
        if value:
            extra.update(_variants(str(value)))
    if not extra and len(text) <= MEMO_MAX_LENGTH and settings.configured:
        return _redact_short(text)
    return _redact(text, (*sorted(extra, key=len, reverse=True), *known_secrets()))


# Log lines repeat their short values (levels, logger names, event names, methods, paths): what the deployment's
# secrets and the shapes make of one is remembered (cleared with known_secrets). Redacting each value of every
# request's log line afresh was a twentieth of a signed-in API request's CPU (docs/benchmarks.md).
MEMO_MAX_LENGTH = 200


@functools.lru_cache(maxsize=4096)
def _redact_short(text: str) -> str:
    return _redact(text, known_secrets())


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if CLIP_MARK in text:
        text = _redact_clipped(text, secrets)
    if SHAPE_MARKS.search(text):
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
    return text


def redact(value: Any, *, also: Iterable[str] = ()) -> Any:
    """`value` with every string redacted and every secret-named key's value blanked, through dicts and lists."""
    also = tuple(also)
    if isinstance(value, str):
        return redact_text(value, also=also)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_secret_name(key) and value[key] not in (None, "") else redact(value[key], also=also)
            for key in value
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item, also=also) for item in value)
    return value


# --- Django's exception reports: the DEBUG page and the admins' error mail ---------------------------------


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, made to cleanse always (not only with DEBUG off), by our names as well as Django's,
    inside values too (a password in DATABASE_URL, an API key in a URL held by a local variable), and to hide
    secret-named form fields and local variables without waiting for `sensitive_*` decorators."""

    cleansed_substitute = REDACTED
    hidden_settings = SECRET_SETTING

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return redact_text(cleansed)
        return cleansed

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        return {key: redact(value) for key, value in super().get_safe_request_meta(request).items()}

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = super().get_post_parameters(request)
        if request is None or not any(is_secret_name(key) for key in parameters):
            return parameters
        cleansed = parameters.copy()
        for key in cleansed:
            if is_secret_name(key):
                cleansed[key] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        cleansed = {}
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if is_secret_name(name):
                cleansed[name] = self.cleansed_substitute
            elif isinstance(value, (str, Mapping, list, tuple)):
                cleansed[name] = redact(value)
            else:
                cleansed[name] = value  # rendered by the reporter, whose whole output is redacted again
        return cleansed.items()


class RedactingExceptionReporter(ExceptionReporter):
    """The report as Django renders it, then redacted as a whole: what the filter cannot see (an object whose
    repr holds a key, the request's query string, an exception message) is caught here."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        for key in ("request_GET_items", "request_FILES_items"):
            if key in data:
                data[key] = [(name, REDACTED if is_secret_name(name) else redact(v)) for name, v in data[key]]
        if "request_insecure_uri" in data:
            data["request_insecure_uri"] = redact_text(str(data["request_insecure_uri"]))
        return data

    def request_secrets(self) -> list[str]:
        """What the failed request itself carried as secrets (a password field, the Authorization header, the
        session cookie): a copy of one in a variable with an innocent name is redacted too."""
        request = self.request
        if request is None:
            return []
        found = []
        try:
            sources = [request.POST.lists(), request.GET.lists(), ((k, [v]) for k, v in request.COOKIES.items())]
            for source in sources:
                found += [value for key, values in source if is_secret_name(key) for value in values]
        except Exception:  # noqa: BLE001, S110 - a body that cannot be parsed holds nothing to look for
            pass
        authorization = str(request.META.get("HTTP_AUTHORIZATION", ""))
        found += [authorization, authorization.partition(" ")[2]]
        return [value for value in found if value]

    # Django puts these into a response or a mail as they are, never into another template: plain str will do.
    def get_traceback_html(self) -> str:  # type: ignore[override]
        return redact_text(str(super().get_traceback_html()), also=self.request_secrets())

    def get_traceback_text(self) -> str:  # type: ignore[override]
        return redact_text(str(super().get_traceback_text()), also=self.request_secrets())


class RedactingAdminEmailHandler(AdminEmailHandler):
    """The admins' error mail: its subject repeats the log message (the request path, e.g. a private feed
    URL) and its body carries the report, so both are redacted on the way out."""

    def send_mail(self, subject: Any, message: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("html_message"):
            kwargs["html_message"] = redact_text(str(kwargs["html_message"]))
        super().send_mail(redact_text(str(subject)), redact_text(str(message)), *args, **kwargs)
