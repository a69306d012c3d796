"""A local stand-in for the part of Cloudflare's API v4 the edge role calls, in the API's documented shapes.

Every answer is the v4 envelope, `{"success", "errors", "messages", "result"}` (plus `result_info` for lists); a
request without `Authorization: Bearer <the token>` gets a 401 envelope. State lives in memory, per server:

- GET /zones?name=            the zones named (result_info)
- GET/POST /zones/{z}/dns_records, PATCH/PUT/DELETE /zones/{z}/dns_records/{id}
- GET/PATCH /zones/{z}/settings/ssl
- GET/PUT /zones/{z}/rulesets/phases/{phase}/entrypoint (GET: 404, code 10003, until one exists)
- POST /zones/{z}/rulesets/{id}/rules, PATCH/DELETE /zones/{z}/rulesets/{id}/rules/{rule},
  DELETE /zones/{z}/rulesets/{id}, GET /zones/{z}/rulesets
- GET /ips                    Cloudflare's address ranges (unauthenticated, as the real one)

It refuses what the real API refuses and the role could get wrong (an unknown phase or action, a rate limiting rule
without cf.colo.id or with a period Cloudflare does not offer, a ref used twice in a ruleset, an unknown TLS mode, a
second CNAME at a name), and, like the real API, fills in what a caller leaves out (rule ids, versions, a ref equal
to the id, `version: "latest"` on an executed managed ruleset, `requests_to_origin: false`), so the role's
comparisons must ignore what Cloudflare adds. `writes` records every changing request, for "created once" checks.
"""

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PHASES = {
    "http_request_firewall_managed": {"execute", "skip", "log"},
    "http_ratelimit": {"block", "challenge", "managed_challenge", "js_challenge", "log"},
    "http_request_cache_settings": {"set_cache_settings"},
    "http_request_firewall_custom": {"block", "challenge", "managed_challenge", "js_challenge", "log", "skip"},
}
MANAGED_RULESETS = {
    "efb7b8c949ac4650a09736fc376e9aee": "Cloudflare Managed Ruleset",
    "4814384a9e5d4991b9815dcfc25d2f1f": "Cloudflare OWASP Core Ruleset",
    "77454fe2d30c4220b5701f6fdfb893ba": "Cloudflare Free Managed Ruleset",
}
RATELIMIT_PERIODS = {10, 60, 120, 300, 600, 3600}
MITIGATION_TIMEOUTS = {0, 10, 60, 120, 300, 600, 3600, 86400}
TTL_MODES = {"respect_origin", "bypass_by_default", "override_origin"}
SSL_MODES = {"off", "flexible", "full", "strict"}
PROXIABLE = {"A", "AAAA", "CNAME"}


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Zone:
    id: str
    name: str
    ssl: str = "full"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    rulesets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entrypoint(self, phase: str) -> dict[str, Any] | None:
        return next((r for r in self.rulesets.values() if r["kind"] == "zone" and r["phase"] == phase), None)


@dataclass
class FakeCloudflare:
    token: str
    zones: dict[str, Zone] = field(default_factory=dict)
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    url: str = ""
    writes: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_zone(self, name: str, ssl: str = "full") -> Zone:
        zone = Zone(id=new_id(), name=name, ssl=ssl)
        self.zones[zone.id] = zone
        return zone

    def zone(self, name: str) -> Zone:
        return next(z for z in self.zones.values() if z.name == name)

    # --- dispatch ---------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if parts == ["ips"] and method == "GET":
            return 200, envelope({"ipv4_cidrs": self.ipv4, "ipv6_cidrs": self.ipv6, "etag": "fake-etag"})
        if parts == ["zones"] and method == "GET":
            found = [zone_json(z) for z in self.zones.values() if z.name in query.get("name", [z.name])]
            return 200, envelope(found, listed=True)
        if len(parts) < 3 or parts[0] != "zones" or parts[1] not in self.zones:
            raise ApiError(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
        zone, rest = self.zones[parts[1]], parts[2:]
        if method != "GET":
            self.writes.append((method, "/" + "/".join(["zones", "{zone}", *rest])))
        if rest[0] == "dns_records":
            return self.dns(zone, method, rest[1:], query, body)
        if rest == ["settings", "ssl"]:
            return self.ssl(zone, method, body)
        if rest[0] == "rulesets":
            return self.rulesets(zone, method, rest[1:], body)
        raise ApiError(404, 7000, "No route for that URI")

    # --- DNS records --------------------------------------------------------------------------------------------

    def dns(self, zone: Zone, method: str, rest: list[str], query: dict[str, list[str]], body: Any):  # type: ignore[no-untyped-def]
        if not rest and method == "GET":
            found = list(zone.records.values())
            for key in ("name", "type", "content"):
                if key in query:
                    wanted = query[key][0].lower()
                    found = [r for r in found if str(r[key]).lower() == wanted]
            return 200, envelope(found, listed=True, query=query)
        if not rest and method == "POST":
            record = self.record_from(zone, body, None)
            zone.records[record["id"]] = record
            return 200, envelope(record)
        if len(rest) != 1 or rest[0] not in zone.records:
            raise ApiError(404, 81044, "Record does not exist.")
        existing = zone.records[rest[0]]
        if method == "GET":
            return 200, envelope(existing)
        if method == "DELETE":
            del zone.records[rest[0]]
            return 200, envelope({"id": rest[0]})
        if method in ("PATCH", "PUT"):
            merged = {**existing, **body} if method == "PATCH" else body
            record = self.record_from(zone, merged, existing)
            zone.records[record["id"]] = record
            return 200, envelope(record)
        raise ApiError(405, 7001, "Method not allowed for this endpoint")

    def record_from(self, zone: Zone, body: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict) or not all(body.get(k) for k in ("type", "name", "content")):
            raise ApiError(400, 9000, "DNS record requires type, name and content")
        name = str(body["name"]).lower().rstrip(".")
        if name != zone.name and not name.endswith("." + zone.name):
            name = f"{name}.{zone.name}"
        kind = str(body["type"]).upper()
        proxied = bool(body.get("proxied", False))
        if proxied and kind not in PROXIABLE:
            raise ApiError(400, 9004, "This record type cannot be proxied.")
        ttl = int(body.get("ttl", 1))
        if ttl != 1 and not 60 <= ttl <= 86400:
            raise ApiError(400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
        for other in zone.records.values():
            same_name = other["name"] == name and (existing is None or other["id"] != existing["id"])
            if same_name and "CNAME" in {kind, other["type"]} and {kind, other["type"]} <= PROXIABLE:
                raise ApiError(400, 81053, "An A, AAAA, or CNAME record with that host already exists.")
        stamp = now()
        return {
            "id": existing["id"] if existing else new_id(),
            "zone_id": zone.id,
            "zone_name": zone.name,
            "name": name,
            "type": kind,
            "content": str(body["content"]).rstrip(".") if kind == "CNAME" else str(body["content"]),
            "proxiable": kind in PROXIABLE,
            "proxied": proxied,
            "ttl": 1 if proxied else ttl,  # a proxied record's TTL is always Automatic
            "comment": body.get("comment"),
            "tags": body.get("tags", []),
            "meta": {},
            "created_on": existing["created_on"] if existing else stamp,
            "modified_on": stamp,
        }

    # --- Zone settings ------------------------------------------------------------------------------------------

    def ssl(self, zone: Zone, method: str, body: Any):  # type: ignore[no-untyped-def]
        if method == "PATCH":
            value = body.get("value") if isinstance(body, dict) else None
            if value not in SSL_MODES:
                raise ApiError(400, 1007, f"Invalid value for zone setting ssl: {value!r}")
            zone.ssl = value
        elif method != "GET":
            raise ApiError(405, 7001, "Method not allowed for this endpoint")
        return 200, envelope({"id": "ssl", "value": zone.ssl, "editable": True, "modified_on": now()})

    # --- Rulesets -----------------------------------------------------------------------------------------------

    def rulesets(self, zone: Zone, method: str, rest: list[str], body: Any):  # type: ignore[no-untyped-def]
        if not rest and method == "GET":
            return 200, envelope([{k: v for k, v in r.items() if k != "rules"} for r in zone.rulesets.values()])
        if len(rest) == 3 and rest[0] == "phases" and rest[2] == "entrypoint":
            phase = rest[1]
            if phase not in PHASES:
                raise ApiError(400, 20021, f"'{phase}' is not a valid phase")
            ruleset = zone.entrypoint(phase)
            if method == "GET":
                if ruleset is None:
                    raise ApiError(404, 10003, f"could not find entrypoint ruleset in the {phase} phase")
                return 200, envelope(ruleset)
            if method == "PUT":
                if ruleset is None:
                    ruleset = {
                        "id": new_id(),
                        "name": "default",
                        "description": "",
                        "kind": "zone",
                        "version": "0",
                        "phase": phase,
                        "rules": [],
                    }
                    zone.rulesets[ruleset["id"]] = ruleset
                ruleset["description"] = body.get("description", ruleset["description"])
                old = {r["id"]: r for r in ruleset["rules"]}
                ruleset["rules"] = [self.rule_from(phase, r, old.get(r.get("id", ""))) for r in body.get("rules", [])]
                return 200, envelope(self.touch(ruleset))
            raise ApiError(405, 7001, "Method not allowed for this endpoint")
        if not rest or rest[0] not in zone.rulesets:
            raise ApiError(404, 10000, "could not find ruleset")
        ruleset = zone.rulesets[rest[0]]
        if len(rest) == 1 and method == "DELETE":
            del zone.rulesets[rest[0]]
            return 204, {}
        if len(rest) == 1 and method == "GET":
            return 200, envelope(ruleset)
        if len(rest) == 2 and rest[1] == "rules" and method == "POST":
            rule = self.rule_from(ruleset["phase"], body, None)
            ruleset["rules"].append(rule)
            return 200, envelope(self.touch(ruleset))
        if len(rest) == 3 and rest[1] == "rules":
            index = next((i for i, r in enumerate(ruleset["rules"]) if r["id"] == rest[2]), None)
            if index is None:
                raise ApiError(404, 10000, "could not find rule")
            if method == "DELETE":
                del ruleset["rules"][index]
            elif method == "PATCH":
                ruleset["rules"][index] = self.rule_from(ruleset["phase"], body, ruleset["rules"][index])
            else:
                raise ApiError(405, 7001, "Method not allowed for this endpoint")
            return 200, envelope(self.touch(ruleset))
        raise ApiError(404, 7000, "No route for that URI")

    def touch(self, ruleset: dict[str, Any]) -> dict[str, Any]:
        refs = [r["ref"] for r in ruleset["rules"]]
        if len(refs) != len(set(refs)):
            raise ApiError(400, 20217, "'ref' must be unique within a ruleset")
        ruleset["version"] = str(int(ruleset["version"]) + 1)
        ruleset["last_updated"] = now()
        return ruleset

    def rule_from(self, phase: str, body: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, 20020, "rule must be an object")
        action, expression = body.get("action"), body.get("expression")
        if action not in PHASES[phase]:
            raise ApiError(400, 20101, f"'{action}' is not a valid action for the {phase} phase")
        if not isinstance(expression, str) or not expression.strip() or expression.count("(") != expression.count(")"):
            raise ApiError(400, 20102, f"filter parsing error: {expression!r}")
        parameters = json.loads(json.dumps(body.get("action_parameters") or {}))
        if action == "execute":
            if parameters.get("id") not in MANAGED_RULESETS:
                raise ApiError(400, 20103, "execute needs the id of a managed ruleset")
            parameters.setdefault("version", "latest")
        if action == "set_cache_settings":
            for key in ("edge_ttl", "browser_ttl"):
                ttl = parameters.get(key)
                if ttl is not None and (
                    ttl.get("mode") not in TTL_MODES
                    or (ttl["mode"] == "override_origin" and not isinstance(ttl.get("default"), int))
                ):
                    raise ApiError(400, 20104, f"invalid {key}: {ttl!r}")
            if not isinstance(parameters.get("cache", True), bool):
                raise ApiError(400, 20104, "cache must be a boolean")
        rule: dict[str, Any] = {
            "id": existing["id"] if existing else new_id(),
            "version": str(int(existing["version"]) + 1) if existing else "1",
            "action": action,
            "expression": expression,
            "description": body.get("description", ""),
            "last_updated": now(),
            "ref": body.get("ref") or (existing["ref"] if existing else ""),
            "enabled": body.get("enabled", True),
        }
        rule["ref"] = rule["ref"] or rule["id"]
        if parameters:
            rule["action_parameters"] = parameters
        if phase == "http_ratelimit":
            limit = json.loads(json.dumps(body.get("ratelimit") or {}))
            characteristics = limit.get("characteristics") or []
            if "cf.colo.id" not in characteristics:
                raise ApiError(400, 20120, "ratelimit.characteristics must include cf.colo.id")
            if limit.get("period") not in RATELIMIT_PERIODS:
                raise ApiError(400, 20121, f"ratelimit.period must be one of {sorted(RATELIMIT_PERIODS)}")
            if not isinstance(limit.get("requests_per_period"), int) or limit["requests_per_period"] < 1:
                raise ApiError(400, 20122, "ratelimit.requests_per_period must be a positive integer")
            if limit.get("mitigation_timeout") not in MITIGATION_TIMEOUTS:
                raise ApiError(400, 20123, f"ratelimit.mitigation_timeout must be one of {sorted(MITIGATION_TIMEOUTS)}")
            limit.setdefault("requests_to_origin", False)
            rule["ratelimit"] = limit
        return rule


def envelope(result: Any, *, listed: bool = False, query: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if listed:
        per_page = int((query or {}).get("per_page", ["100"])[0])
        page = int((query or {}).get("page", ["1"])[0])
        body["result"] = result[(page - 1) * per_page : page * per_page]
        body["result_info"] = {
            "page": page,
            "per_page": per_page,
            "count": len(body["result"]),
            "total_count": len(result),
            "total_pages": max(1, -(-len(result) // per_page)),
        }
    return body


def failure(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def zone_json(zone: Zone) -> dict[str, Any]:
    return {"id": zone.id, "name": zone.name, "status": "active", "paused": False, "type": "full"}


class Handler(BaseHTTPRequestHandler):
    server: "Server"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self) -> None:
        api = self.server.api
        parts = urlsplit(self.path)
        path = re.sub(r"^/client/v4", "", parts.path)
        try:
            if path != "/ips" and self.headers.get("Authorization") != f"Bearer {api.token}":
                raise ApiError(401, 10000, "Authentication error")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise ApiError(400, 6007, "Malformed JSON in request body") from None
            with api.lock:
                status, payload = api.handle(self.command, path, parse_qs(parts.query), body)
        except ApiError as error:
            status, payload = error.status, failure(error.code, error.message)
        data = json.dumps(payload).encode() if status != 204 else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: FakeCloudflare) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.api = api


@contextmanager
def fake_cloudflare(token: str, zones: tuple[str, ...] = ()) -> Iterator[FakeCloudflare]:
    """A fake on a free port of 127.0.0.1; its `url` is the API base (…/client/v4), like the real one's."""
    api = FakeCloudflare(token=token)
    for name in zones:
        api.add_zone(name)
    server = Server(api)
    api.url = f"http://127.0.0.1:{server.server_address[1]}/client/v4"
    thread = threading.Thread(target=server.serve_forever, name="fake-cloudflare", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
