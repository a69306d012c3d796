"""Fetches the vendored web-vitals library (static/vendor/web-vitals/) again from npm: `make vendor-web-vitals`.

Reproducible: the tarball of the pinned version must have the pinned integrity (the registry's sha512), or nothing
is written; the built IIFE file and the licence are copied byte for byte, and VERSION records where they came from.
Never part of `make test` or `make run`: the site serves the committed copy and needs no network or npm.

To move to another release, set VERSION and INTEGRITY below (`npm view web-vitals@<version> dist.integrity`), run
`make vendor-web-vitals`, read the diff of the built file and run the browser tests (apps/analytics/tests).
"""

import hashlib
import sys
import tarfile
import tempfile
from pathlib import Path

from scripts.support import npm

PACKAGE = "web-vitals"
VERSION = "5.3.0"
INTEGRITY = "sha512-q6LWsLatGYZp5VGBIOvbTj6JBV2nOmC8KvWztXBmwJcfFAzhwKwbOxhUH306XY3CcaZDUlSmSuNPBsCn0bFu+g=="
# What is taken from the tarball, and under which name it is committed.
FILES = {"package/dist/web-vitals.iife.js": "web-vitals.iife.js", "package/LICENSE": "LICENSE"}

ROOT = Path(__file__).resolve().parent.parent
DESTINATION = ROOT / "static" / "vendor" / "web-vitals"


def version_file(files: dict[str, bytes]) -> str:
    lines = [
        f"package: {PACKAGE}",
        f"version: {VERSION}",
        "licence: Apache-2.0 (LICENSE, as shipped in the package)",
        f"tarball: {npm.REGISTRY}{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz",
        f"integrity: {INTEGRITY}",
        *(f"sha256 {name}: {hashlib.sha256(data).hexdigest()}" for name, data in sorted(files.items())),
        "source: dist/web-vitals.iife.js and LICENSE of the tarball, unchanged",
        "refresh: make vendor-web-vitals (scripts/vendor_web_vitals.py; the version and integrity are pinned there)",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as temporary:
        tarball = npm.pack(f"{PACKAGE}@{VERSION}", Path(temporary))
        data = tarball.read_bytes()
        found = npm.integrity(data)
        if found != INTEGRITY:
            print(f"{tarball.name}: integrity {found}, pinned {INTEGRITY}; nothing written", file=sys.stderr)
            return 1
        files: dict[str, bytes] = {}
        with tarfile.open(tarball, "r:gz") as archive:
            for member, name in FILES.items():
                extracted = archive.extractfile(member)
                if extracted is None:
                    raise SystemExit(f"{member} is not a file in {tarball.name}")
                files[name] = extracted.read()
    DESTINATION.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (DESTINATION / name).write_bytes(content)
    (DESTINATION / "VERSION").write_text(version_file(files))
    print(f"{PACKAGE} {VERSION} vendored in {DESTINATION.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
