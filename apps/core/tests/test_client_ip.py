"""apps.core.client_ip: the peer behind the trusted proxies, and CF-Connecting-IP only from Cloudflare's ranges.

The throttles' and sign-in limits' behaviour through it is tested in test_throttling.py and
apps/users/tests/test_credential_stuffing.py; here, the decisions themselves and the committed ranges file.
"""

import ipaddress
import json
from datetime import date

import pytest
from django.test import RequestFactory, override_settings

from apps.core import client_ip as module
from apps.core.client_ip import RANGES_FILE, client_ip, cloudflare_networks, is_cloudflare, peer_address

factory = RequestFactory()


def request(remote: str = "10.20.1.5", forwarded: str | None = None, connecting: str | None = None):  # type: ignore[no-untyped-def]
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    if connecting is not None:
        meta["HTTP_CF_CONNECTING_IP"] = connecting
    return factory.get("/", **meta)


def test_the_ranges_file_names_its_source_and_date_and_holds_valid_networks():
    data = json.loads(RANGES_FILE.read_text())
    assert "api.cloudflare.com/client/v4/ips" in data["source"]
    assert date.fromisoformat(data["taken"])  # the day they were taken, YYYY-MM-DD
    v4 = [ipaddress.ip_network(cidr) for cidr in data["ipv4"]]
    v6 = [ipaddress.ip_network(cidr) for cidr in data["ipv6"]]
    assert v4
    assert v6
    assert all(n.version == 4 for n in v4)
    assert all(n.version == 6 for n in v6)
    # Written as networks (no host bits), once each: the ALB's security group gets one rule per entry.
    assert [str(n) for n in v4] == data["ipv4"]
    assert [str(n) for n in v6] == data["ipv6"]
    assert len(set(data["ipv4"] + data["ipv6"])) == len(data["ipv4"]) + len(data["ipv6"])
    assert len(cloudflare_networks()) == len(v4) + len(v6)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("173.245.48.0", True),
        ("173.245.63.255", True),  # the last address of 173.245.48.0/20
        ("173.245.64.0", False),  # the first one after it
        ("104.16.0.1", True),
        ("172.71.255.255", True),  # 172.64.0.0/13
        ("172.72.0.0", False),
        ("2606:4700::6810:85e5", True),
        ("2a06:98c7:ffff::1", True),  # 2a06:98c0::/29
        ("2a06:98c8::1", False),
        ("::ffff:162.158.1.1", True),  # IPv4-mapped, as a dual-stack socket reports it
        ("198.51.100.9", False),
        ("10.20.1.5", False),
        ("", False),
        ("not an address", False),
    ],
)
def test_is_cloudflare(address, expected):
    assert is_cloudflare(address) is expected


@override_settings(TRUSTED_PROXY_COUNT=0)
def test_without_proxies_the_peer_is_remote_addr_whatever_x_forwarded_for_says():
    assert peer_address(request("192.0.2.7", forwarded="162.158.1.1")) == "192.0.2.7"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_peer_is_the_entry_it_appended():
    assert peer_address(request(forwarded="6.6.6.6, 203.0.113.5, 162.158.1.1")) == "162.158.1.1"
    assert peer_address(request(forwarded=" 162.158.1.1 ")) == "162.158.1.1"
    assert peer_address(request("192.0.2.7")) == "192.0.2.7"  # no header: a direct connection inside the VPC


@override_settings(TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=True)
def test_cf_connecting_ip_is_taken_only_from_a_cloudflare_peer():
    assert client_ip(request(forwarded="203.0.113.5, 162.158.1.1", connecting="203.0.113.5")) == "203.0.113.5"
    assert client_ip(request(forwarded="2606:4700::1", connecting="2001:db8::7")) == "2001:db8::7"
    # From elsewhere the header is ignored, even when the client wrote a Cloudflare address before its own.
    assert client_ip(request(forwarded="162.158.1.1, 198.51.100.9", connecting="203.0.113.5")) == "198.51.100.9"
    # A Cloudflare peer without the header, or with something that is not an address, is counted as itself.
    assert client_ip(request(forwarded="162.158.1.1")) == "162.158.1.1"
    assert client_ip(request(forwarded="162.158.1.1", connecting="203.0.113.5, 1.2.3.4")) == "162.158.1.1"
    assert client_ip(request(forwarded="162.158.1.1", connecting=" 203.0.113.5 ")) == "203.0.113.5"


@override_settings(TRUSTED_PROXY_COUNT=0, CLOUDFLARE_TRUSTED=True)
def test_without_proxies_a_cloudflare_remote_addr_is_the_edge_itself():
    assert client_ip(request("172.64.9.9", connecting="203.0.113.5")) == "203.0.113.5"
    assert client_ip(request("192.0.2.7", connecting="203.0.113.5")) == "192.0.2.7"


@override_settings(TRUSTED_PROXY_COUNT=1, CLOUDFLARE_TRUSTED=False)
def test_off_by_default():
    assert client_ip(request(forwarded="162.158.1.1", connecting="203.0.113.5")) == "162.158.1.1"


def test_the_ranges_are_read_once_per_process(monkeypatch, tmp_path):
    cloudflare_networks.cache_clear()
    other = tmp_path / "ranges.json"
    other.write_text(json.dumps({"ipv4": ["192.0.2.0/24"], "ipv6": []}))
    monkeypatch.setattr(module, "RANGES_FILE", other)
    try:
        assert is_cloudflare("192.0.2.1")
        other.write_text(json.dumps({"ipv4": [], "ipv6": []}))
        assert is_cloudflare("192.0.2.1")
    finally:
        cloudflare_networks.cache_clear()
