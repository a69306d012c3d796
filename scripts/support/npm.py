"""A pinned npm package's tarball, for the scripts that vendor a file from it (vendor_web_vitals, vendor_lbc_policy)."""

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

REGISTRY = "https://registry.npmjs.org/"


def integrity(data: bytes) -> str:
    """The registry's `dist.integrity` form: sha512 in Subresource Integrity notation."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def pack(spec: str, directory: Path) -> Path:
    """The package's tarball from the registry, as `npm pack` downloads it (no install, no scripts run)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is missing: sudo apt-get install npm")
    command = [npm, "pack", spec, "--ignore-scripts", "--silent", "--registry", REGISTRY, "--pack-destination"]
    subprocess.run([*command, str(directory)], check=True, stdout=subprocess.DEVNULL)
    tarballs = list(directory.glob("*.tgz"))
    if len(tarballs) != 1:
        raise SystemExit(f"npm pack {spec} left {len(tarballs)} tarballs, expected one")
    return tarballs[0]
