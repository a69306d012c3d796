"""Runs `manage.py check --deploy --fail-level WARNING` under the production settings with throwaway secrets.

Run as `python -m scripts.deploy_check` from the repository root."""

import os
import subprocess
import sys

from scripts.support.production_env import throwaway_production_secrets

env = {**os.environ, "DJANGO_SETTINGS_MODULE": "planner.settings", **throwaway_production_secrets()}
sys.exit(subprocess.call([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env))
