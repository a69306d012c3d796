"""gunicorn config file: docker/gunicorn.conf.py as the image runs it, plus the readiness mark of
scripts/support/gunicorn_ready.py (gunicorn reads one config file; this one is both)."""

import runpy
from pathlib import Path

from scripts.support.gunicorn_ready import post_worker_init  # noqa: F401 - gunicorn reads it from here

_IMAGE_CONFIG = Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"
globals().update(
    {name: value for name, value in runpy.run_path(str(_IMAGE_CONFIG)).items() if not name.startswith("__")}
)
