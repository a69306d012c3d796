"""scripts/refresh_cloudflare_ranges.py (make cloudflare-ranges) against the fake API's GET /ips, never Cloudflare."""

import json
from datetime import UTC, datetime

import pytest

from scripts import refresh_cloudflare_ranges as refresh
from tests.infra.fake_cloudflare import fake_cloudflare

COMMITTED = json.loads(refresh.RANGES_FILE.read_text())


@pytest.fixture
def cloudflare():  # type: ignore[no-untyped-def]
    with fake_cloudflare("unused", zones=()) as api:
        api.ipv4 = ["173.245.48.0/20", "198.51.100.0/24"]
        api.ipv6 = ["2400:cb00::/32"]
        yield api


def test_the_file_is_rewritten_with_the_answer_and_todays_date(cloudflare, tmp_path, capsys):
    target = tmp_path / "ranges.json"
    target.write_text(json.dumps(COMMITTED))

    # The date in UTC before and after the run: at midnight UTC it turns between the script's reading and ours.
    before = datetime.now(UTC).date().isoformat()
    assert refresh.main(["--url", f"{cloudflare.url}/ips", "--file", str(target)]) == 0
    after = datetime.now(UTC).date().isoformat()

    written = json.loads(target.read_text())
    assert written["ipv4"] == ["173.245.48.0/20", "198.51.100.0/24"]
    assert written["ipv6"] == ["2400:cb00::/32"]
    assert written["taken"] in {before, after}
    assert written["source"] == f"{cloudflare.url}/ips"
    assert written["etag"] == "fake-etag"
    # The committed file has the shape the script writes, so the role and the app read either.
    assert set(written) == set(COMMITTED)
    printed = capsys.readouterr().out
    assert "+ 198.51.100.0/24" in printed
    assert "- 103.21.244.0/22" in printed
    assert "- 2606:4700::/32" in printed


@pytest.mark.parametrize(
    ("ipv4", "ipv6", "complaint"),
    [
        ([], ["2400:cb00::/32"], "no IPv4 ranges"),
        (["173.245.48.0/20"], ["173.245.48.0/20"], "is listed as IPv6"),
        (["173.245.48.1/20"], ["2400:cb00::/32"], "is not a network"),  # host bits set
    ],
)
def test_a_doubtful_answer_leaves_the_file_alone(cloudflare, tmp_path, capsys, ipv4, ipv6, complaint):
    cloudflare.ipv4, cloudflare.ipv6 = ipv4, ipv6
    target = tmp_path / "ranges.json"
    target.write_text(json.dumps(COMMITTED))

    assert refresh.main(["--url", f"{cloudflare.url}/ips", "--file", str(target)]) == 1

    assert json.loads(target.read_text()) == COMMITTED
    assert complaint in capsys.readouterr().err


def test_an_unsuccessful_envelope_is_refused(cloudflare, tmp_path, capsys):
    target = tmp_path / "ranges.json"
    assert refresh.main(["--url", f"{cloudflare.url}/nothing-here", "--file", str(target)]) == 1
    assert not target.exists()
    assert "not refreshed" in capsys.readouterr().err


def test_plain_http_elsewhere_is_refused():
    with pytest.raises(refresh.BadAnswer, match="plain HTTP"):
        refresh.fetch("http://api.cloudflare.com/client/v4/ips")
