"""RSA key pair for JWTs outside production: generated once into var/ so `make run` just works."""

import fcntl
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def ensure_dev_rsa_keypair(directory: Path) -> tuple[str, str]:
    private_path = directory / "jwt-private.pem"
    public_path = directory / "jwt-public.pem"
    directory.mkdir(parents=True, exist_ok=True)
    # Several processes may start at once (gunicorn workers, test runners): one generates, the rest wait.
    with open(directory / "jwt-keys.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not public_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            private_path.chmod(0o600)
            # The public half is written last: its presence marks a complete pair.
            public_path.write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
    return private_path.read_text(), public_path.read_text()
