"""Runs `manage.py check --deploy --fail-level WARNING` under the production settings with throwaway secrets."""

import os
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
env = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "planner.settings",
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": os.urandom(48).hex(),
    "ALLOWED_HOSTS": "weekendplanner.example",
    "DATABASE_URL": "postgres://planner@127.0.0.1:5432/planner",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ENCRYPTION_KEY": os.urandom(32).hex(),
    "JWT_PRIVATE_KEY": key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode(),
    "JWT_PUBLIC_KEY": key.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode(),
}
sys.exit(subprocess.call([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env))
