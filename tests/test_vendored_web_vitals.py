"""The vendored web-vitals library (static/vendor/web-vitals/) is what its VERSION file says, at the version and
integrity pinned in scripts/vendor_web_vitals.py, and the pages load it from our own origin. No network: the
refetch itself is `make vendor-web-vitals`, by hand."""

import hashlib
import re
from pathlib import Path

from django.contrib.staticfiles import finders

from scripts import vendor_web_vitals

DIRECTORY = Path(__file__).resolve().parent.parent / "static" / "vendor" / "web-vitals"


def _recorded() -> dict[str, str]:
    lines = (DIRECTORY / "VERSION").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_version_file_matches_the_pin_and_the_files() -> None:
    recorded = _recorded()
    assert recorded["package"] == vendor_web_vitals.PACKAGE
    assert recorded["version"] == vendor_web_vitals.VERSION
    assert recorded["integrity"] == vendor_web_vitals.INTEGRITY
    for name in vendor_web_vitals.FILES.values():
        assert hashlib.sha256((DIRECTORY / name).read_bytes()).hexdigest() == recorded[f"sha256 {name}"], name
    assert (DIRECTORY / "VERSION").read_text() == vendor_web_vitals.version_file(
        {name: (DIRECTORY / name).read_bytes() for name in vendor_web_vitals.FILES.values()}
    )


def test_the_built_file_is_self_contained() -> None:
    # Nothing fetched at run time, nothing evaluated from strings (the Content-Security-Policy refuses both), and no
    # source map reference for the manifest storage to resolve at collectstatic.
    source = (DIRECTORY / "web-vitals.iife.js").read_text()
    assert source.startswith("var webVitals=")
    assert not re.search(r"\beval\(|new Function|https?://|sourceMappingURL|import\(", source)


def test_collectstatic_finds_it() -> None:
    assert finders.find("vendor/web-vitals/web-vitals.iife.js") == str(DIRECTORY / "web-vitals.iife.js")
