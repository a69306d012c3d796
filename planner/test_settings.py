"""Settings for the test suite: the real settings, pointed at the local PostgreSQL and Redis by default."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/weekend_planner")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

# Trained models go to a temporary directory of this run, removed when the process that made it exits; processes
# the suite starts with its environment inherit TEST_MODELS_DIR and so share it.
if not os.environ.get("TEST_MODELS_DIR"):
    os.environ["TEST_MODELS_DIR"] = tempfile.mkdtemp(prefix="weekend-planner-models-")
    atexit.register(shutil.rmtree, os.environ["TEST_MODELS_DIR"], ignore_errors=True)

from planner.settings import *  # noqa: F403

# Hashing passwords slowly is the point in production and a waste of minutes in the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory, unless the process was given a mail server: a worker a test starts with EMAIL_URL=smtp://127.0.0.1:<port>
# (the smtp_server fixture's) sends there.
if not os.environ.get("EMAIL_URL"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,  # noqa: F405
    "models": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ["TEST_MODELS_DIR"]},
    },
}

# The planner's answers depend on how many iterations the solver made, never on how fast this machine is.
ITINERARY_SOLVER_SECONDS = 30.0
ITINERARY_SOLVER_ITERATIONS = 300

# Each test sees its own writes at once, whatever the test before it left in a process's memory; the queued and
# the remembered paths have tests of their own that turn them on.
RECOMMENDATIONS_QUEUE_IMPRESSIONS = False
SERVING_CHECK_SECONDS = 0.0
CATALOGUE_STATE_MEMO_SECONDS = 0.0

# A worker a test starts may refresh subscriptions from the fake feed servers on 127.0.0.1 (never in production).
CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE = os.environ.get("CALENDAR_SUBSCRIPTIONS_ALLOW_PRIVATE", "") == "true"
