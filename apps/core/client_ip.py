"""The client's address, as every limit counts it: the API throttles (apps.core.api.throttling), the sign-in limits
(apps.users.lockout) and allauth's own rate limits (apps.users.adapter) all ask `client_ip`, so they agree.

- The **peer** is the address that connected to the outermost proxy we run: with TRUSTED_PROXY_COUNT proxies in front
  (the ALB: 1), the X-Forwarded-For entry that proxy appended; with none, REMOTE_ADDR. Never an entry the client
  wrote itself (as DRF's NUM_PROXIES).
- With CLOUDFLARE_TRUSTED on, a peer inside Cloudflare's published ranges is Cloudflare's edge, and the client is the
  address it names in `CF-Connecting-IP`. From any other peer that header is the client's own invention and is
  ignored: the ALB's security group admits only those ranges, and this check holds even if it did not.
- The ranges are the file the edge's Ansible role opens the ALB to (`apps/core/data/cloudflare_ip_ranges.json`,
  refreshed by `make cloudflare-ranges`), read once per process.
"""

import functools
import ipaddress
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

RANGES_FILE = Path(__file__).resolve().parent / "data" / "cloudflare_ip_ranges.json"
CONNECTING_IP_META = "HTTP_CF_CONNECTING_IP"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def cloudflare_networks() -> tuple[Network, ...]:
    data = json.loads(RANGES_FILE.read_text())
    return tuple(ipaddress.ip_network(cidr) for cidr in [*data["ipv4"], *data["ipv6"]])


def _parse(address: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_cloudflare(address: str) -> bool:
    ip = _parse(address)
    return ip is not None and any(ip in network for network in cloudflare_networks())


def peer_address(request: HttpRequest | Request) -> str:
    """REMOTE_ADDR, or the X-Forwarded-For entry the outermost of TRUSTED_PROXY_COUNT proxies appended."""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR") or "")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0 and forwarded:
        entries = str(forwarded).split(",")
        remote = entries[-min(proxies, len(entries))].strip()
    return remote


def client_ip(request: HttpRequest | Request) -> str:
    """The peer, or the address Cloudflare's edge vouches for when the peer is that edge (CLOUDFLARE_TRUSTED)."""
    peer = peer_address(request)
    if settings.CLOUDFLARE_TRUSTED and is_cloudflare(peer):
        named = _parse(str(request.META.get(CONNECTING_IP_META) or ""))
        if named is not None:
            return str(named)
    return peer
