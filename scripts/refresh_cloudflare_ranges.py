"""Refreshes Cloudflare's published address ranges: `make cloudflare-ranges` (never run by the tests).

GETs https://api.cloudflare.com/client/v4/ips (no token needed), checks the answer (the v4 envelope, every entry a
network of the right family, neither list empty) and rewrites apps/core/data/cloudflare_ip_ranges.json with them
and today's date, printing what changed. That one file is what the app trusts CF-Connecting-IP from
(apps/core/client_ip.py) and what the ALB's security group admits (infra/ansible roles/network tasks/alb.yml). After a
change: commit it, run playbooks/edge.yml (or network.yml) for each environment so the security group follows, and
deploy so the app's copy follows. Cloudflare adds ranges to its list before it starts using them.

    .venv/bin/python scripts/refresh_cloudflare_ranges.py [--url URL] [--file PATH]
"""

import argparse
import ipaddress
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RANGES_FILE = ROOT / "apps" / "core" / "data" / "cloudflare_ip_ranges.json"
API_URL = "https://api.cloudflare.com/client/v4/ips"


class BadAnswer(ValueError):
    pass


def fetch(url: str, timeout: float = 30) -> Any:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise BadAnswer(f"refusing to fetch the ranges over plain HTTP from {url}")
    response = httpx.get(url, headers={"Accept": "application/json"}, timeout=timeout)
    response.raise_for_status()
    return response.json()


def networks(entries: Any, version: int) -> list[str]:
    if not isinstance(entries, list) or not entries:
        raise BadAnswer(f"no IPv{version} ranges in the answer")
    found = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(str(entry))
        except ValueError as error:
            raise BadAnswer(f"{entry!r} is not a network: {error}") from None
        if network.version != version:
            raise BadAnswer(f"{entry} is listed as IPv{version}")
        found.append(str(network))
    return found


def ranges_from(answer: Any, *, source: str, taken: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or answer.get("success") is not True or not isinstance(answer.get("result"), dict):
        raise BadAnswer(f"not a successful API answer: {json.dumps(answer)[:500]}")
    result = answer["result"]
    return {
        "source": source,
        "taken": taken,
        "how": "Fetched by scripts/refresh_cloudflare_ranges.py (make cloudflare-ranges) on the date above.",
        "etag": str(result.get("etag") or ""),
        "ipv4": networks(result.get("ipv4_cidrs"), 4),
        "ipv6": networks(result.get("ipv6_cidrs"), 6),
    }


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for family in ("ipv4", "ipv6"):
        before, after = set(old.get(family, [])), set(new[family])
        lines += [f"+ {cidr}" for cidr in new[family] if cidr not in before]
        lines += [f"- {cidr}" for cidr in old.get(family, []) if cidr not in after]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=API_URL)
    parser.add_argument("--file", type=Path, default=RANGES_FILE)
    args = parser.parse_args(argv)
    try:
        new = ranges_from(fetch(args.url), source=args.url, taken=datetime.now(UTC).date().isoformat())
    except (BadAnswer, httpx.HTTPError, OSError, ValueError) as error:
        print(f"Cloudflare's ranges were not refreshed: {error}", file=sys.stderr)
        return 1
    old = json.loads(args.file.read_text()) if args.file.exists() else {}
    args.file.write_text(json.dumps(new, indent=2) + "\n")
    diff = changes(old, new)
    print(f"{args.file}: {len(new['ipv4'])} IPv4 and {len(new['ipv6'])} IPv6 ranges, taken {new['taken']}")
    print("\n".join(diff) if diff else "no range changed")
    if diff:
        print("Next: commit the file, run playbooks/edge.yml for each environment, then deploy the app.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
