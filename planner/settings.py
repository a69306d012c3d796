"""Settings, read from the environment (12-factor).

With no environment at all this is the embedded default of `make run`: SQLite under var/, a local-memory
cache and Celery tasks run in-process. `DJANGO_ENV=production` refuses to start while a secret is missing.
"""

import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import django_stubs_ext
import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from planner.keys import ensure_dev_rsa_keypair
from planner.storage import s3_storage

django_stubs_ext.monkeypatch()  # lets model admin and form classes take type parameters at run time

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Local state of the embedded default (SQLite database, generated dev keys, demo password); git-ignored.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

# Secrets that production cannot run without. Outside production each has a harmless local default.
REQUIRED_IN_PRODUCTION = (
    "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "JWT_PRIVATE_KEY",
    "JWT_PUBLIC_KEY",
    "ENCRYPTION_KEY",
)
if PRODUCTION:
    for _name in REQUIRED_IN_PRODUCTION:
        if not env.str(_name, default="").strip():
            raise ImproperlyConfigured(f"{_name} must be set when DJANGO_ENV=production")

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-local-development-only-key-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
ENCRYPTION_KEY = env.str("ENCRYPTION_KEY", default="")
# Key rotation (docs/security.md, "Rotating the application keys"): a key staged to become current (_NEXT) and
# the keys it replaced (_FALLBACKS) still verify signatures and decrypt, so a rotation logs nobody out early, and
# pods still on the old Secret during a rollout accept what pods on the new one sign.
SECRET_KEY_FALLBACKS = [
    key.strip()
    for key in (env.str("DJANGO_SECRET_KEY_NEXT", default=""), *env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[]))
    if key.strip()
]
ENCRYPTION_KEY_NEXT = env.str("ENCRYPTION_KEY_NEXT", default="")
ENCRYPTION_KEY_FALLBACKS = env.list("ENCRYPTION_KEY_FALLBACKS", default=[])
API_VERSION = env.str("API_VERSION", default="v1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_prometheus",
    "corsheaders",
    "django_htmx",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "apps.core",
    "apps.users",
    "apps.events",
    "apps.calendars",
    "apps.analytics",
    "apps.recommendations",
    "apps.notifications",
    "apps.itineraries",
    "apps.groups",
]

GOOGLE_OAUTH_CLIENT_ID = env.str("GOOGLE_OAUTH_CLIENT_ID", default="")
GOOGLE_OAUTH_CLIENT_SECRET = env.str("GOOGLE_OAUTH_CLIENT_SECRET", default="")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET:
    INSTALLED_APPS.append("allauth.socialaccount.providers.google")
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APP": {"client_id": GOOGLE_OAUTH_CLIENT_ID, "secret": GOOGLE_OAUTH_CLIENT_SECRET},
        "SCOPE": ["openid", "email", "profile"],
        "OAUTH_PKCE_ENABLED": True,
    }

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Security headers and the Content-Security-Policy wrap everything below, so that every response has
    # them: the probes answered just after, redirects, static files, error pages.
    "apps.core.security.SecurityHeadersMiddleware",
    "apps.core.security.CSPMiddleware",
    # Probes and scrapes answer before host validation and the HTTPS redirect: the kubelet and
    # Prometheus call the pod IP over plain HTTP.
    "apps.core.middleware.OperationsEndpointsMiddleware",
    "apps.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # apps.core.browser_middleware's classes step aside for /api/ requests without a cookie (bearer or anonymous).
    "apps.core.browser_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.core.browser_middleware.AuthenticationMiddleware",
    "apps.core.browser_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.browser_middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication and messages: sends staff without a passed second factor away from the admin.
    "apps.users.middleware.StaffSecondFactorMiddleware",
    # django-prometheus's after-middleware, keeping only the series docs/metrics.md lists.
    "apps.core.metrics_middleware.RequestMetricsMiddleware",
]

ROOT_URLCONF = "planner.urls"
WSGI_APPLICATION = "planner.wsgi.application"
APPEND_SLASH = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores -----------------------------------------------------------------------------------

_PROMETHEUS_DB_ENGINES = {
    # django-prometheus's, pinging a connection only when it has not served a request cleanly for a while.
    "django.db.backends.postgresql": "apps.core.db_backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}


def _database(url: str) -> dict[str, object]:
    config: dict[str, object] = env.db_url_config(url)
    config["ENGINE"] = _PROMETHEUS_DB_ENGINES.get(str(config["ENGINE"]), config["ENGINE"])
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    if "sqlite" in str(config["ENGINE"]):
        config["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    else:
        # Options from the URL (e.g. ?sslmode=verify-full for RDS) are kept; the timeout is only a default.
        options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
        options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
        if not env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
            options["prepare_threshold"] = None  # e.g. behind a pooler in transaction mode (apps/core/db_backends)
        config["OPTIONS"] = options
    return config


DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
if DATABASE_URL.startswith("sqlite"):
    VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A connection that served a request without errors is not pinged again for this long (apps.core.db_backends).
DATABASE_CHECK_DELAY_SECONDS = env.float("DATABASE_CHECK_DELAY_SECONDS", default=1.0)

# Read replica (docs/deployment.md, "Read replica"): optional. The reads that opt in (apps.core.db_router.replica_reads)
# go to it while it is healthy; everything else, and a person who has just written, stays on the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="").strip()
DATABASE_REPLICA_STICKY_SECONDS = env.int("DATABASE_REPLICA_STICKY_SECONDS", default=5)
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=30.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=2.0)
if DATABASE_REPLICA_URL:
    _replica = _database(DATABASE_REPLICA_URL)
    _primary = DATABASES["default"]
    # A URL without credentials (what infra/ansible's deploy feeds: the RDS replica has the primary's roles) takes
    # the primary's user, password and connection options.
    for _key in ("USER", "PASSWORD"):
        _replica[_key] = _replica.get(_key) or _primary.get(_key, "")
    _replica["OPTIONS"] = {**_primary.get("OPTIONS", {}), **_replica["OPTIONS"]}  # type: ignore[dict-item]
    # Tests that configure a replica read the test database through it, never a test database of its own.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["apps.core.db_router.ReplicaRouter"]
    # After authentication: it remembers, per browser and per person, who has just written.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("apps.core.browser_middleware.AuthenticationMiddleware") + 1,
        "apps.core.db_router.ReadYourWritesMiddleware",
    )

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "wp",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # Redis down is a cache miss, not a 500: pages and the API serve from the database (a lock taken
                # through the cache is then refused, never granted). Logged once a minute (quiet_warnings).
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "apps.core.cache_outage"
else:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache",
            "LOCATION": "weekend-planner",
        }
    }

# Anonymous catalogue reads (Discover, the event pages, GET /api/v1/events and /events/{id}): how long shared and
# browser caches may keep them (Cache-Control: public, max-age), and the clock step their "this weekend, not over
# yet" answers are computed at (docs/api.md, "Caching").
CATALOGUE_CACHE_SECONDS = env.int("CATALOGUE_CACHE_SECONDS", default=60)
# How long a process answers from the catalogue's version as it last read it (apps.events.public_cache): a sync run
# elsewhere shows at the origin that much later; 0 reads it on every request.
CATALOGUE_STATE_MEMO_SECONDS = env.float("CATALOGUE_STATE_MEMO_SECONDS", default=1.0)

# --- Accounts ---------------------------------------------------------------------------------------

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # allauth's backend, reading the same tables for every email (an unknown one costs what a known one does).
    "apps.users.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_RATE_LIMITS = {
    "login": "10/m/ip",
    "login_failed": "10/m/ip,10/m/key",
    "signup": "20/m/ip",
    "reset_password": "10/m/ip,5/m/key",
}
# Its password log-in goes through our sign-in limits (apps.users.adapter), as the API's token endpoint does.
ACCOUNT_ADAPTER = "apps.users.adapter.AccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

# A second factor (allauth.mfa): an authenticator app (TOTP), security keys and passkeys (WebAuthn), and
# recovery codes. Anyone may opt in; staff must have one, and have used it in this session, to open the admin
# when STAFF_MFA_REQUIRED is on (apps.users.middleware). API tokens are issued and used as before.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=PRODUCTION)
MFA_ADAPTER = "apps.users.mfa.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Weekend Planner"
# A passkey sign-in requires user verification (PIN or biometrics), so it counts as both factors.
MFA_PASSKEY_LOGIN_ENABLED = True
# Security keys are bound to the relying party id: a domain the site is served under. Empty means the host of
# the request (one of ALLOWED_HOSTS); set a parent domain when the site answers on several hosts.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Weekend Planner")
# Plain http on localhost or a test server's port; production always checks the origin.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION

_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Weekend Planner <hello@weekendplanner.test>")
# The site's address as people reach it, for the links in emails (no request to take it from in a task).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- REST API ----------------------------------------------------------------------------------------

RATE_LIMIT_WINDOW = env.int("RATE_LIMIT_WINDOW", default=3_600_000)  # milliseconds
RATE_LIMIT_MAX = env.int("RATE_LIMIT_MAX", default=1000)
AUTH_RATE_LIMIT_PER_MINUTE = env.int("AUTH_RATE_LIMIT_PER_MINUTE", default=10)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Behind Cloudflare (infra/ansible's edge role): when the peer the trusted proxies report is inside Cloudflare's
# published ranges (apps/core/data/cloudflare_ip_ranges.json), the client is the CF-Connecting-IP it names; from any
# other peer that header is ignored. apps/core/client_ip.py; the chart turns it on in staging and production.
CLOUDFLARE_TRUSTED = env.bool("CLOUDFLARE_TRUSTED", default=False)
# allauth's own rate limits ask our adapter for the client address (apps/core/client_ip.py, like DRF's throttles and
# our sign-in limits); allauth's own proxy count is kept in step for anything of its that reads it directly.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Credential stuffing (apps/users/lockout.py), on the browser login and POST /api/v1/auth/token alike: this many
# failed sign-ins for one email (known or not) within the window lock it for LOGIN_LOCKOUT_SECONDS, even against
# the right password; one client address gets this many failed sign-ins an hour. 0 turns either off.
LOGIN_LOCKOUT_THRESHOLD = env.int("LOGIN_LOCKOUT_THRESHOLD", default=10)
LOGIN_LOCKOUT_WINDOW_SECONDS = env.int("LOGIN_LOCKOUT_WINDOW_SECONDS", default=900)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
LOGIN_ADDRESS_LIMIT_PER_HOUR = env.int("LOGIN_ADDRESS_LIMIT_PER_HOUR", default=100)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.users.jwt.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.api.throttling.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["apps.core.api.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.api.negotiation.FirstRendererNegotiation",
    # JSON in (docs/architecture.md, API conventions): form encodings carry no null, number or boolean and read
    # an empty field as an absent one, so they cannot mean what the schema says. The ICS import takes multipart too.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.errors.api_exception_handler",
    # Client IP as seen by the last trusted proxy (the ALB): never a header a client can forge.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Weekend Planner API",
    "DESCRIPTION": "Public events near you, your calendar, and a good weekend.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the taxonomy wherever it appears (profile interests, event category, search filter).
    "ENUM_NAME_OVERRIDES": {
        "CategoryEnum": "apps.core.taxonomy.CATEGORY_CHOICES",
        "EventStatusEnum": "apps.events.models.EventStatus",
        "PlanStatusEnum": "apps.calendars.models.PlanStatus",
        "TravelModeEnum": "apps.core.geo.TravelMode",
    },
}

JWT_ISSUER = env.str("JWT_ISSUER", default="weekend-planner-api")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="weekend-planner-app")
if PRODUCTION or env.str("JWT_PRIVATE_KEY", default=""):
    JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", multiline=True)
    JWT_PUBLIC_KEY = env.str("JWT_PUBLIC_KEY", multiline=True)
else:
    JWT_PRIVATE_KEY, JWT_PUBLIC_KEY = ensure_dev_rsa_keypair(VAR_DIR)
# During a key rotation, tokens signed with the previous key stay valid until they expire.
JWT_PREVIOUS_PUBLIC_KEY = env.str("JWT_PREVIOUS_PUBLIC_KEY", default="", multiline=True)
# Staged by a rotation: verified already, signs only once promoted to JWT_PRIVATE_KEY/JWT_PUBLIC_KEY.
JWT_NEXT_PUBLIC_KEY = env.str("JWT_NEXT_PUBLIC_KEY", default="", multiline=True)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ALGORITHM": "RS256",
    "SIGNING_KEY": JWT_PRIVATE_KEY,
    "VERIFYING_KEY": JWT_PUBLIC_KEY,
    "AUDIENCE": JWT_AUDIENCE,
    "ISSUER": JWT_ISSUER,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("apps.users.jwt.UserAccessToken",),
    "UPDATE_LAST_LOGIN": False,
}

# --- Gateway concerns -----------------------------------------------------------------------------------

CORS_ALLOWED_ORIGINS = [o.strip() for o in env.str("CORS_ORIGIN", default="").split(",") if o.strip()]
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

# --- Security ----------------------------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Every script, style, image and font is our own (whitenoise serves htmx, Swagger UI and admin assets
# too). Inline <script>/<style> need the request's nonce; inline event handlers and style attributes are
# refused; nothing is evaluated from strings (htmx runs with allowEval off, see templates/base.html).
# docs/security.md explains each directive.
_FORM_ACTIONS = [SELF]
if GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET:
    # "Continue with Google" posts to allauth, which redirects to Google: form-action covers the redirect.
    _FORM_ACTIONS.append("https://accounts.google.com")
# Map tiles for the itinerary's day maps (Leaflet): a tile URL template such as
# https://tile.example.org/{z}/{x}/{y}.png and the attribution its licence asks for. Empty: a plain drawing.
MAP_TILES_URL = env.str("MAP_TILES_URL", default="")
MAP_TILES_ATTRIBUTION = env.str("MAP_TILES_ATTRIBUTION", default="© OpenStreetMap contributors")
_IMAGE_SOURCES = [SELF, "data:"]
if MAP_TILES_URL:
    _tiles = urlsplit(MAP_TILES_URL)
    # "{s}." in the host is Leaflet's placeholder for a subdomain (a., b., c.): any subdomain of that host.
    _IMAGE_SOURCES.append(f"{_tiles.scheme}://{_tiles.netloc.replace('{s}.', '*.')}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": _IMAGE_SOURCES,
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": _FORM_ACTIONS,
        "upgrade-insecure-requests": PRODUCTION,
        "report-uri": ["/csp-report/"],
    },
}

# Browser features the pages never use are switched off for us and anything we might embed. WebAuthn
# (staff MFA) and the feed address's copy button use theirs on our own origin only.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "browsing-topics": [],
    "camera": [],
    "clipboard-read": [],
    "clipboard-write": ["self"],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

# --- Static files, i18n ---------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Leaflet (the itinerary's day maps) as django-leaflet ships it, served as our own static files. Its folder, not
# the app: as an app it loads GeoDjango, which needs GDAL.
_LEAFLET_STATIC = Path(importlib.util.find_spec("leaflet").submodule_search_locations[0]) / "static"  # type: ignore[union-attr, index]
STATICFILES_DIRS = [BASE_DIR / "static", _LEAFLET_STATIC]
STORAGES: dict[str, dict[str, Any]] = {
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # "default" (media) and "models" (trained recommendation models) are set with the AWS settings, at the end of
    # this file.
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Celery ----------------------------------------------------------------------------------------------
# Queues, routes and limits live in planner/celery.py; only the connection is configured here.


def _next_redis_database(url: str) -> str:
    """The broker lives in the Redis database after the cache's: clearing the cache (FLUSHDB) must never
    drop queued tasks."""
    parsed = urlsplit(url)
    database = int(parsed.path.strip("/") or 0)
    return urlunsplit(parsed._replace(path=f"/{database + 1}"))


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_next_redis_database(REDIS_URL) if REDIS_URL else "memory://")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL if REDIS_URL else None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A sync run stops after a page once it has run this long, with its checkpoint, and the next run resumes there: a
# slow provider (seconds a page) ends a run on time, well inside the tasks' soft time limit (14 min).
SYNC_RUN_MAX_SECONDS = env.int("SYNC_RUN_MAX_SECONDS", default=10 * 60)
# A source's sync lock lapses this long after its holder stopped renewing it (a worker killed mid-run).
SYNC_LOCK_SECONDS = env.int("SYNC_LOCK_SECONDS", default=60)

# --- Logging -----------------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# Error reports (the DEBUG page, the admins' mail) cleanse secrets by value as well as by setting name: a
# password inside DATABASE_URL, a provider key in a URL held by a local variable (apps.core.redaction).
DEFAULT_EXCEPTION_REPORTER = "apps.core.redaction.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "apps.core.redaction.RedactingExceptionReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "apps.core.logging.json_formatter"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
        # Sends nothing while ADMINS is empty; when set, the mail's subject and report are redacted.
        "mail_admins": {
            "class": "apps.core.redaction.RedactingAdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "cache_outage": {"()": "apps.core.quiet_warnings.CacheOutage"},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's own console handler, which would print a second, plain-text copy.
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # Requests are logged once by RequestContextMiddleware; Django's own access lines would double them.
        "django.request": {"level": "ERROR", "handlers": ["mail_admins"]},
        "django.server": {"level": "WARNING"},
        # django-redis's "Exception ignored" for each cache call Redis did not answer: one warning a minute instead.
        "apps.core.cache_outage": {"filters": ["cache_outage"]},
        "django.db.backends": {"level": "INFO"},
        # httpx logs each request URL at INFO, and some providers take their key in the query string.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # boto3 announces at INFO where it found credentials: noise on stdout, where backup_db prints its key.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
    },
}

# --- Geography (apps.core.geo) ---
# Google Geocoding and Routes. Without a key nothing is geocoded and travel times are estimated offline.
GOOGLE_MAPS_API_KEY = env.str("GOOGLE_MAPS_API_KEY", default="")
GOOGLE_MAPS_API_URL = env.str("GOOGLE_MAPS_API_URL", default="https://maps.googleapis.com")
GOOGLE_ROUTES_API_URL = env.str("GOOGLE_ROUTES_API_URL", default="https://routes.googleapis.com")

# --- Event providers (apps.events.sources) ---
# Ticketmaster Discovery API v2. Without a key, ticketmaster sources fail their runs with a clear error.
TICKETMASTER_API_KEY = env.str("TICKETMASTER_API_KEY", default="")
TICKETMASTER_API_URL = env.str("TICKETMASTER_API_URL", default="https://app.ticketmaster.com")
# Eventbrite API v3 (events of configured organisations and venues; bearer token).
EVENTBRITE_API_KEY = env.str("EVENTBRITE_API_KEY", default="")
EVENTBRITE_API_URL = env.str("EVENTBRITE_API_URL", default="https://www.eventbriteapi.com")
# Meetup GraphQL (POST {MEETUP_API_URL}/gql-ext; bearer OAuth token).
MEETUP_API_KEY = env.str("MEETUP_API_KEY", default="")
MEETUP_API_URL = env.str("MEETUP_API_URL", default="https://api.meetup.com")

# --- Backups (apps.core.backups: manage.py backup_db / restore_db) ---
# pg_dump archives go to this S3 bucket, encrypted with this KMS key (the bucket's default key when empty).
# AWS credentials come from boto3's usual chain: in the cluster, the service account's IAM role.
BACKUP_BUCKET = env.str("BACKUP_BUCKET", default="")
BACKUP_KMS_KEY_ID = env.str("BACKUP_KMS_KEY_ID", default="")
BACKUP_PREFIX = env.str("BACKUP_PREFIX", default="postgres/")
AWS_REGION = env.str("AWS_REGION", default="us-west-2")
# Only for a local emulator (moto server) in tests and development; empty means AWS itself.
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="")

# --- Media and trained models: STORAGES["default"] and STORAGES["models"] (planner/storage.py) ---
# With MEDIA_BUCKET set (staging and production: <name>-<env>-media, created by infra/ansible's s3 role) both are
# S3Storage in that bucket, media under media/ and models under models/: private objects read through SigV4 signed
# URLs that expire after MEDIA_URL_EXPIRE_SECONDS, encrypted with the data key (MEDIA_KMS_KEY_ID; empty: the bucket's
# default, which is that key), with the service account's IAM role. Pods keep nothing on disk. Without it (`make
# run`, the tests) they are directories, VAR_DIR/media and VAR_DIR/models. Production refuses to start without the
# bucket: media written to a pod's disk would be lost with the pod and missing from every other one.
MEDIA_BUCKET = env.str("MEDIA_BUCKET", default="").strip()
MEDIA_KMS_KEY_ID = env.str("MEDIA_KMS_KEY_ID", default="")
# Long enough for a page's links to be followed, short enough that a copied or leaked link soon stops working; a page
# or response that holds a signed URL must not be cached for longer.
MEDIA_URL_EXPIRE_SECONDS = env.int("MEDIA_URL_EXPIRE_SECONDS", default=900)
if PRODUCTION and not MEDIA_BUCKET:
    raise ImproperlyConfigured("MEDIA_BUCKET must be set when DJANGO_ENV=production (media and models live in S3)")
if MEDIA_BUCKET:
    try:
        for _storage, _location in (("default", "media"), ("models", "models")):
            STORAGES[_storage] = s3_storage(
                bucket=MEDIA_BUCKET,
                location=_location,
                region=AWS_REGION,
                url_expire_seconds=MEDIA_URL_EXPIRE_SECONDS,
                kms_key_id=MEDIA_KMS_KEY_ID,
                endpoint_url=AWS_ENDPOINT_URL,
            )
    except ValueError as _error:
        raise ImproperlyConfigured(f"Media storage: {_error}") from None
else:
    STORAGES["default"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
    STORAGES["models"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "models"},
    }

# --- Serving lists (apps.recommendations, apps.analytics) ---
# A served list's impressions are stored by a task on the `analytics` queue, not in the request (docs/
# recommendations.md, "Serving"). Off without a broker: in-process tasks would run in the request anyway.
# Where no beat runs (`make run`: no Redis), the KPI API and the staff dashboard roll up the days they read first.
ANALYTICS_ROLLUP_ON_REQUEST = env.bool("ANALYTICS_ROLLUP_ON_REQUEST", default=not REDIS_URL)
RECOMMENDATIONS_QUEUE_IMPRESSIONS = env.bool("RECOMMENDATIONS_QUEUE_IMPRESSIONS", default=bool(REDIS_URL))
# How often each process asks whether the catalogue changed (for its in-memory copy) and what an experiment is:
# a list may lag a change made by another process by this much, and saves two queries on most requests.
SERVING_CHECK_SECONDS = env.float("SERVING_CHECK_SECONDS", default=1.0)

# --- Plan my weekend (apps.itineraries) ---
# How long the solver searches for one itinerary (the request waits on it), and an optional cap on its iterations
# (tests set one, so that an answer never depends on the machine's speed).
ITINERARY_SOLVER_SECONDS = env.float("ITINERARY_SOLVER_SECONDS", default=1.0)
ITINERARY_SOLVER_ITERATIONS: int | None = env.int("ITINERARY_SOLVER_ITERATIONS", default=0) or None
