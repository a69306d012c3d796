"""gunicorn config file: docker/gunicorn.conf.py as the image runs it, plus the readiness mark of
scripts/support/gunicorn_ready.py (gunicorn reads one config file; this one is both)."""

from pathlib import Path

_IMAGE_CONFIG = Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"
exec(compile(_IMAGE_CONFIG.read_text(), str(_IMAGE_CONFIG), "exec"))  # noqa: S102 - our own config file

from scripts.support.gunicorn_ready import post_worker_init  # noqa: E402,F401 - gunicorn reads it from here
