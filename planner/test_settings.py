"""Settings for the test suite: the real settings, pointed at the local PostgreSQL and Redis by default."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

from planner.settings import *  # noqa: F403

# Hashing passwords slowly is the point in production and a waste of minutes in the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
