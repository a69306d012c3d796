"""Throwaway secrets for starting the production settings outside production: the deploy check, the image
check, and tests that start a process with DJANGO_ENV=production. Every value is made up on each call and never
leaves the machine."""

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def jwt_key_pair() -> tuple[str, str]:
    """A fresh RSA key pair as PEM text: (private PKCS#8, public SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def throwaway_secrets() -> dict[str, str]:
    """The generated secrets only (Django's secret key, the encryption key, the JWT key pair): for an environment
    whose other settings come from elsewhere, such as the chart's rendered ConfigMap."""
    private, public = jwt_key_pair()
    return {
        "DJANGO_SECRET_KEY": os.urandom(48).hex(),
        "ENCRYPTION_KEY": os.urandom(32).hex(),
        "JWT_PRIVATE_KEY": private,
        "JWT_PUBLIC_KEY": public,
    }


def throwaway_production_secrets() -> dict[str, str]:
    """Every variable the production settings refuse to start without."""
    return {
        "DJANGO_ENV": "production",
        "ALLOWED_HOSTS": "weekendplanner.example",
        "DATABASE_URL": "postgres://planner@127.0.0.1:5432/planner",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        # Not a secret, but required the same way: media live in S3 in production. Nothing here reaches the bucket.
        "MEDIA_BUCKET": "weekendplanner-throwaway-media",
        # Email goes somewhere real in production (apps/notifications/checks.py); nothing here sends any.
        "EMAIL_URL": "smtp+tls://throwaway:throwaway@smtp.weekendplanner.example:587",
        "SITE_URL": "https://weekendplanner.example",
        **throwaway_secrets(),
    }
