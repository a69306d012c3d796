"""playbooks/edge.yml (role edge) against a local fake of Cloudflare's API v4 (tests/infra/fake_cloudflare.py) and
the session's moto, where site.yml made the network (with the ALB's security group).

One module fixture plays the whole story and keeps what it saw after each run, so the tests can be shuffled:
a run that must refuse (a host the origin's certificate does not name), the first run, a second run (changed=0,
no write at all), production's run beside it in the same zone, staging's absent run (only staging's records and
rules go), a second absent run (changed=0) and production's absent run (the zone as it was, but its TLS mode).
The ALB stands in for the one the AWS Load Balancer Controller makes for the chart's Ingress. Cloudflare's ranges
are never fetched: the security group is checked against the committed file.
"""

import copy
import datetime
import json
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.infra.conftest import ROOT, AwsSite, PlaybookRun, ansible_env
from tests.infra.fake_cloudflare import fake_cloudflare

NAME = "weekend-planner-staging"
TOKEN = "fake-cloudflare-token-for-the-tests"  # the fake's, passed as CLOUDFLARE_API_TOKEN
ZONE = "weekendplanner.com"
HOSTS = ["staging.weekendplanner.com", "api.staging.weekendplanner.com"]
PRODUCTION_HOSTS = ["weekendplanner.com", "api.weekendplanner.com"]
PRODUCTION_ORIGIN = "k8s-production-alb.us-west-2.elb.amazonaws.com"
PHASES = ("http_request_firewall_managed", "http_ratelimit", "http_request_cache_settings")
RANGES = json.loads((ROOT / "apps" / "core" / "data" / "cloudflare_ip_ranges.json").read_text())
OURS = {
    "http_request_firewall_managed": [f"{NAME}-waf-cloudflare-managed", f"{NAME}-waf-owasp-core"],
    "http_ratelimit": [f"{NAME}-ratelimit-login", f"{NAME}-ratelimit-token"],
    "http_request_cache_settings": [
        f"{NAME}-cache-static",
        f"{NAME}-cache-catalogue",
        f"{NAME}-cache-never-personal",
    ],
}


@dataclass
class Seen:
    """A run, and the fake's state and write log right after it."""

    run: PlaybookRun
    zone: dict[str, Any]
    writes: list[tuple[str, str]]

    def entrypoint(self, phase: str) -> dict[str, Any] | None:
        return next((r for r in self.zone["rulesets"].values() if r["phase"] == phase), None)

    def rules(self, phase: str, prefix: str = NAME) -> dict[str, dict[str, Any]]:
        ruleset = self.entrypoint(phase)
        return {r["ref"]: r for r in (ruleset["rules"] if ruleset else []) if r["ref"].startswith(prefix)}

    def records(self, hosts: list[str]) -> list[dict[str, Any]]:
        return sorted((r for r in self.zone["records"].values() if r["name"] in hosts), key=lambda r: r["name"])


@dataclass
class Story:
    refused: Seen
    first: Seen
    alb_rules_after_first: list[dict[str, Any]]
    second: Seen
    production: Seen
    absent: Seen
    absent_again: Seen
    production_absent: Seen
    origin: str


def self_signed(names: list[str]) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def alb_group(aws_site: AwsSite) -> dict[str, Any]:
    ec2 = aws_site.client("ec2")
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{NAME}-alb"]}])
    assert len(groups["SecurityGroups"]) == 1, groups
    return groups["SecurityGroups"][0]


@pytest.fixture(scope="module")
def story(aws_site: AwsSite):  # type: ignore[no-untyped-def]
    assert aws_site.first_run.returncode == 0, "site.yml never made the network; see test_site.py"
    ec2, elbv2, acm = aws_site.client("ec2"), aws_site.client("elbv2"), aws_site.client("acm")
    group = alb_group(aws_site)
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [group["VpcId"]]}, {"Name": "tag:Tier", "Values": ["public"]}]
    )["Subnets"]
    certificate, key = self_signed(HOSTS)
    certificate_arn = acm.import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
    # The controller's ALB for the Ingress, in the Cloudflare-only group; and another ALB that is not ours.
    ours = elbv2.create_load_balancer(
        Name="k8s-weekendp-weekendp-3f6c2a1b9e",
        Subnets=[s["SubnetId"] for s in subnets],
        SecurityGroups=[group["GroupId"]],
        Scheme="internet-facing",
        Type="application",
        Tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": NAME}],
    )["LoadBalancers"][0]
    elbv2.create_listener(
        LoadBalancerArn=ours["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate_arn}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    other = elbv2.create_load_balancer(
        Name="someone-elses-alb", Subnets=[s["SubnetId"] for s in subnets], Scheme="internet-facing", Type="application"
    )["LoadBalancers"][0]
    site = AwsSite(endpoint=aws_site.endpoint, env={**aws_site.env, "CLOUDFLARE_API_TOKEN": TOKEN})
    try:
        with fake_cloudflare(TOKEN, zones=(ZONE,)) as cloudflare:

            def run(name: str, *extra: str) -> Seen:
                done = site.run("-e", f"edge_api_url={cloudflare.url}", *extra, playbook="edge.yml", name=name)
                with cloudflare.lock:
                    zone = cloudflare.zone(ZONE)
                    state = copy.deepcopy({"records": zone.records, "rulesets": zone.rulesets, "ssl": zone.ssl})
                    return Seen(done, state, list(cloudflare.writes))

            production = (
                "-e", "edge_name=weekend-planner-production",
                "-e", json.dumps({"edge_hosts": PRODUCTION_HOSTS}),
                "-e", json.dumps({"edge_manage_aws": False}),
                "-e", f"edge_origin_hostname={PRODUCTION_ORIGIN}",
            )  # fmt: skip
            refused = run("edge-refused", "-e", json.dumps({"edge_hosts": [*HOSTS, "www.weekendplanner.com"]}))
            # Drift the first run must undo: a rule nobody asked for.
            ec2.authorize_security_group_ingress(
                GroupId=group["GroupId"],
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ],
            )
            first = run("edge-first")
            alb_rules = alb_group(aws_site)["IpPermissions"]
            second = run("edge-second")
            production_first = run("edge-production", *production)
            absent = run("edge-absent", "-e", "planner_state=absent")
            absent_again = run("edge-absent-again", "-e", "planner_state=absent")
            production_absent = run("edge-production-absent", *production, "-e", "planner_state=absent")
        yield Story(
            refused=refused,
            first=first,
            alb_rules_after_first=alb_rules,
            second=second,
            production=production_first,
            absent=absent,
            absent_again=absent_again,
            production_absent=production_absent,
            origin=ours["DNSName"].lower(),
        )
    finally:
        for balancer in (ours, other):
            elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
        acm.delete_certificate(CertificateArn=certificate_arn)


def succeeded(seen: Seen) -> None:
    assert seen.run.returncode == 0, seen.run.tail()
    assert seen.run.recap["failed"] == 0, seen.run.tail()


# --- Refusals --------------------------------------------------------------------------------------------------


def test_a_host_the_origin_certificate_does_not_name_is_refused_before_any_change(story):  # type: ignore[no-untyped-def]
    assert story.refused.run.returncode != 0
    assert "www.weekendplanner.com" in story.refused.run.output
    assert "526" in story.refused.run.output  # the message says what Full (strict) would do
    assert story.refused.writes == []


def test_a_wrong_token_gets_the_api_error_and_changes_nothing():
    # AWS is left alone (edge_manage_aws false), so no moto is needed: the endpoint below is never called.
    site = AwsSite(endpoint="http://127.0.0.1:9", env={**ansible_env(), "CLOUDFLARE_API_TOKEN": "not-the-token"})
    with fake_cloudflare(TOKEN, zones=(ZONE,)) as cloudflare:
        run = site.run(
            "-e", f"edge_api_url={cloudflare.url}", "-e", json.dumps({"edge_manage_aws": False}),
            "-e", "edge_origin_hostname=origin.example.test", playbook="edge.yml", name="edge-wrong-token",
        )  # fmt: skip
        assert run.returncode != 0
        assert "Authentication error" in run.output
        assert cloudflare.writes == []


# --- The first run ---------------------------------------------------------------------------------------------


def test_first_run_succeeds(story):  # type: ignore[no-untyped-def]
    succeeded(story.first)
    assert story.first.run.recap["changed"] > 0


def test_the_hosts_are_proxied_cnames_to_the_alb(story):  # type: ignore[no-untyped-def]
    records = story.first.records(HOSTS)
    assert [(r["name"], r["type"]) for r in records] == [(h, "CNAME") for h in sorted(HOSTS)]
    for record in records:
        assert record["content"] == story.origin
        assert record["proxied"] is True
        assert record["ttl"] == 1
        assert record["comment"] == f"Managed by Ansible: infra/ansible roles/edge ({NAME})"


def test_tls_mode_is_full_strict(story):  # type: ignore[no-untyped-def]
    assert story.first.zone["ssl"] == "strict"


def test_each_thing_was_created_once(story):  # type: ignore[no-untyped-def]
    assert sorted(story.first.writes) == sorted(
        [
            ("POST", "/zones/{zone}/dns_records"),
            ("POST", "/zones/{zone}/dns_records"),
            ("PATCH", "/zones/{zone}/settings/ssl"),
            *[("PUT", f"/zones/{{zone}}/rulesets/phases/{phase}/entrypoint") for phase in PHASES],
        ]
    )
    for phase in PHASES:
        assert list(story.first.rules(phase)) == OURS[phase]


def test_managed_waf_rulesets_run_for_the_hosts(story):  # type: ignore[no-untyped-def]
    rules = story.first.rules("http_request_firewall_managed")
    executed = {ref: rule["action_parameters"]["id"] for ref, rule in rules.items()}
    assert executed == {
        f"{NAME}-waf-cloudflare-managed": "efb7b8c949ac4650a09736fc376e9aee",
        f"{NAME}-waf-owasp-core": "4814384a9e5d4991b9815dcfc25d2f1f",
    }
    for rule in rules.values():
        assert rule["action"] == "execute"
        assert rule["enabled"] is True
        assert rule["expression"] == '(http.host in {"staging.weekendplanner.com" "api.staging.weekendplanner.com"})'


def test_sign_in_and_token_endpoints_are_rate_limited_per_address(story):  # type: ignore[no-untyped-def]
    rules = story.first.rules("http_ratelimit")
    login, token = rules[f"{NAME}-ratelimit-login"], rules[f"{NAME}-ratelimit-token"]
    assert 'http.request.method eq "POST"' in login["expression"]
    assert 'http.request.uri.path in {"/accounts/login/"}' in login["expression"]
    assert 'http.request.uri.path in {"/api/v1/auth/token" "/api/v1/auth/token/refresh"}' in token["expression"]
    for rule in (login, token):
        assert rule["action"] == "block"
        assert rule["expression"].startswith('(http.host in {"staging.weekendplanner.com"')
        assert rule["ratelimit"]["characteristics"] == ["cf.colo.id", "ip.src"]
        assert (rule["ratelimit"]["period"], rule["ratelimit"]["requests_per_period"]) == (60, 20)
        assert rule["ratelimit"]["mitigation_timeout"] == 600
    # The API's clients get the API's own error shape.
    response = token["action_parameters"]["response"]
    assert response["status_code"] == 429
    assert json.loads(response["content"])["error"]["code"] == "throttled"


def test_cache_rules(story):  # type: ignore[no-untyped-def]
    rules = story.first.rules("http_request_cache_settings")
    static, catalogue, never = (rules[f"{NAME}-cache-{kind}"] for kind in ("static", "catalogue", "never-personal"))
    personal = (
        '(http.cookie contains "sessionid=" or http.cookie contains "messages=" '
        'or any(lower(http.request.headers.names[*])[*] eq "authorization"))'
    )
    # Hashed static files (name.<12 hex>.ext) for a year, at the edge and in browsers.
    assert r'http.request.uri.path matches r"^/static/.+\.[0-9a-f]{12}\.[A-Za-z0-9]+$"' in static["expression"]
    assert static["action_parameters"] == {
        "cache": True,
        "edge_ttl": {"mode": "override_origin", "default": 31_536_000},
        "browser_ttl": {"mode": "override_origin", "default": 31_536_000},
    }
    # The anonymous catalogue as its Cache-Control says; never an htmx partial (Discover's shares its URL).
    assert 'http.request.uri.path in {"/discover/" "/api/v1/events"}' in catalogue["expression"]
    assert 'starts_with(http.request.uri.path, "/events/")' in catalogue["expression"]
    assert 'starts_with(http.request.uri.path, "/api/v1/events/")' in catalogue["expression"]
    assert 'eq "hx-request"' in catalogue["expression"]
    assert catalogue["action_parameters"] == {
        "cache": True,
        "edge_ttl": {"mode": "respect_origin"},
        "browser_ttl": {"mode": "respect_origin"},
    }
    # Never anything with a session or Authorization: the two caching rules exclude it and a last rule bypasses it.
    assert f"and not {personal}" in static["expression"]
    assert f"and not {personal}" in catalogue["expression"]
    assert never["expression"].endswith(f" and {personal}")
    assert never["action_parameters"] == {"cache": False}


def test_the_alb_admits_exactly_cloudflares_ranges_on_80_and_443(story):  # type: ignore[no-untyped-def]
    permissions = story.alb_rules_after_first
    # The port 22 rule added before the run is gone: the group holds what the committed file says, nothing else.
    assert sorted((p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in permissions) == [
        ("tcp", 80, 80),
        ("tcp", 443, 443),
    ]
    for permission in permissions:
        assert sorted(r["CidrIp"] for r in permission.get("IpRanges", [])) == sorted(RANGES["ipv4"])
        assert sorted(r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])) == sorted(RANGES["ipv6"])
        assert permission.get("UserIdGroupPairs", []) == []
        assert permission.get("PrefixListIds", []) == []
        descriptions = {r.get("Description") for r in permission["IpRanges"] + permission["Ipv6Ranges"]}
        assert descriptions == {
            f"Cloudflare IPv4 ranges taken {RANGES['taken']}",
            f"Cloudflare IPv6 ranges taken {RANGES['taken']}",
        }


# --- Idempotence and the other environment ---------------------------------------------------------------------


def test_second_run_changes_nothing(story):  # type: ignore[no-untyped-def]
    succeeded(story.second)
    assert story.second.run.recap["changed"] == 0, story.second.run.tail(12000)
    assert story.second.writes == story.first.writes
    assert story.second.zone == story.first.zone


def test_production_shares_the_zone_without_touching_staging(story):  # type: ignore[no-untyped-def]
    succeeded(story.production)
    for phase in PHASES:
        assert story.production.rules(phase) == story.first.rules(phase)
        assert len(story.production.rules(phase, "weekend-planner-production-")) == len(OURS[phase])
    assert story.production.records(HOSTS) == story.first.records(HOSTS)
    assert [r["content"] for r in story.production.records(PRODUCTION_HOSTS)] == [PRODUCTION_ORIGIN] * 2


# --- Absent ----------------------------------------------------------------------------------------------------


def test_absent_removes_staging_and_leaves_production(story):  # type: ignore[no-untyped-def]
    succeeded(story.absent)
    assert story.absent.run.recap["changed"] > 0
    assert story.absent.records(HOSTS) == []
    assert story.absent.records(PRODUCTION_HOSTS) == story.production.records(PRODUCTION_HOSTS)
    for phase in PHASES:
        assert story.absent.rules(phase) == {}
        assert story.absent.rules(phase, "weekend-planner-production-") == story.production.rules(
            phase, "weekend-planner-production-"
        )
    # The zone-wide TLS mode stays: production relies on it too.
    assert story.absent.zone["ssl"] == "strict"


def test_second_absent_run_changes_nothing(story):  # type: ignore[no-untyped-def]
    succeeded(story.absent_again)
    assert story.absent_again.run.recap["changed"] == 0, story.absent_again.run.tail(12000)
    assert story.absent_again.writes == story.absent.writes


def test_the_last_environment_absent_leaves_no_ruleset_and_no_record(story):  # type: ignore[no-untyped-def]
    succeeded(story.production_absent)
    assert story.production_absent.zone["records"] == {}
    assert story.production_absent.zone["rulesets"] == {}


def test_the_security_group_stays_with_the_network(aws_site, story):  # type: ignore[no-untyped-def]
    # The network role owns it (site.yml's absent run deletes it with the VPC); edge.yml's absent leaves it.
    assert story.absent.run.returncode == 0
    assert alb_group(aws_site)["IpPermissions"]
