"""infra/fluent-bit against a real log line from our logging setup.

There is no fluent-bit binary here, so the test reads the configuration the way fluent-bit does (sections of
case-insensitive keys), then applies what it declares to lines our own logger wrote: the CRI regex and its time
format to the runtime's line, the JSON parser's Time_Key and Time_Format to our line, and checks that every key a
filter reads is really there. A change in apps/core/logging.py that renames `timestamp` or `level`, or changes
the time's shape, fails here before it silently breaks log shipping.
"""

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from django.conf import settings
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "infra" / "fluent-bit"
LOGGER = "apps.fluent_bit_probe"

Section = tuple[str, dict[str, list[str]]]


def read_classic(path: Path) -> list[Section]:
    """Fluent-bit's classic format: [SECTION] headers, then indented `Key value` lines (keys repeat)."""
    sections: list[Section] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            assert not raw.startswith(" "), f"{path.name}:{number}: a section header must start the line"
            sections.append((line[1:-1].upper(), {}))
            continue
        assert raw.startswith("    "), f"{path.name}:{number}: entries are indented by four spaces"
        assert sections, f"{path.name}:{number}: entry outside a section"
        key, _, value = line.partition(" ")
        assert value.strip(), f"{path.name}:{number}: {key} has no value"
        sections[-1][1].setdefault(key.lower(), []).append(value.strip())
    return sections


def one(entries: dict[str, list[str]], key: str) -> str:
    (value,) = entries[key.lower()]
    return value


def named(sections: list[Section], kind: str, name: str) -> dict[str, list[str]]:
    matches = [entries for section, entries in sections if section == kind and one(entries, "name") == name]
    assert len(matches) == 1, f"expected one {kind} named {name}"
    return matches[0]


def python_time_format(fluent_bit_format: str) -> str:
    # flb_strptime: %L is the fraction of a second (any number of digits); Python's %f takes up to six.
    return fluent_bit_format.replace("%L", "%f")


def parse_time(value: str, fluent_bit_format: str) -> datetime:
    # Nanoseconds (the runtime's) are cut to the microseconds Python's %f accepts.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    return datetime.strptime(value, python_time_format(fluent_bit_format))


def python_regex(onigmo: str) -> re.Pattern[str]:
    return re.compile(onigmo.replace("(?<", "(?P<"))


@pytest.fixture(scope="module")
def config() -> list[Section]:
    return read_classic(CONFIG_DIR / "fluent-bit.conf")


@pytest.fixture(scope="module")
def parsers(config: list[Section]) -> dict[str, dict[str, list[str]]]:
    (service,) = [entries for section, entries in config if section == "SERVICE"]
    parsers_file = CONFIG_DIR / one(service, "parsers_file")
    assert parsers_file.is_file()
    return {one(entries, "name"): entries for section, entries in read_classic(parsers_file) if section == "PARSER"}


@pytest.fixture
def app_lines() -> Iterator[list[str]]:
    """Lines written through the project's LOGGING formatter and structlog's configured processors."""
    formatter = import_string(settings.LOGGING["formatters"]["json"]["()"])()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    stdlib_logger = logging.getLogger(LOGGER)
    stdlib_logger.addHandler(handler)
    stdlib_logger.setLevel(logging.INFO)
    stdlib_logger.propagate = False
    try:
        structlog.contextvars.bind_contextvars(request_id="3b2f9c")
        structlog.get_logger(LOGGER).info("source_synced", source="ticketmaster", created=12)
        logging.getLogger(LOGGER).warning("plain %s line", "standard-library")
        try:
            raise ValueError("provider answered 502")
        except ValueError:
            structlog.get_logger(LOGGER).exception("sync_failed", source="meetup")
        yield stream.getvalue().splitlines()
    finally:
        structlog.contextvars.clear_contextvars()
        stdlib_logger.removeHandler(handler)
        stdlib_logger.propagate = True


def cri_line(line: str, stream: str = "stdout") -> str:
    written = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "417Z"  # containerd writes nanoseconds
    return f"{written} {stream} F {line}"


def test_the_pipeline_is_tail_with_cri_then_our_json_then_kubernetes_then_cloudwatch(config: list[Section]) -> None:
    kinds = [(section, one(entries, "name")) for section, entries in config if section != "SERVICE"]
    assert kinds == [
        ("INPUT", "tail"),
        ("FILTER", "parser"),
        ("FILTER", "modify"),
        ("FILTER", "modify"),
        ("FILTER", "kubernetes"),
        ("OUTPUT", "cloudwatch_logs"),
    ]
    tail = named(config, "INPUT", "tail")
    assert one(tail, "parser") == "cri"
    assert one(tail, "tag") == "kube.*"
    assert one(tail, "path") == "/var/log/containers/*weekend-planner*.log"


def test_every_parser_named_is_declared(config: list[Section], parsers: dict[str, dict[str, list[str]]]) -> None:
    assert one(named(config, "INPUT", "tail"), "parser") in parsers
    assert one(named(config, "FILTER", "parser"), "parser") in parsers


def test_kubernetes_filter_merges_json_drops_the_raw_line_and_adds_labels(config: list[Section]) -> None:
    kubernetes = named(config, "FILTER", "kubernetes")
    assert one(kubernetes, "merge_log").lower() == "on"
    assert one(kubernetes, "keep_log").lower() == "off"
    assert one(kubernetes, "labels").lower() == "on"
    # The filter finds the pod from the tag: tail's kube.* expands to kube.<path with dots>.
    tail_tag = one(named(config, "INPUT", "tail"), "tag")
    path_prefix = "/var/log/containers/".replace("/", ".").lstrip(".")
    assert one(kubernetes, "kube_tag_prefix") == tail_tag.replace("*", path_prefix)


def test_cloudwatch_output_writes_to_the_log_group_the_ansible_logs_role_creates(config: list[Section]) -> None:
    output = named(config, "OUTPUT", "cloudwatch_logs")
    assert one(output, "region") == "us-west-2"
    assert one(output, "log_group_name") == "/weekend-planner/${PLANNER_ENV}/application"
    assert one(output, "auto_create_group").lower() == "off"
    assert one(output, "match") == "kube.*"


def test_a_real_log_line_goes_through_the_cri_parser_and_our_json_parser(
    config: list[Section], parsers: dict[str, dict[str, list[str]]], app_lines: list[str]
) -> None:
    assert len(app_lines) == 3
    cri = parsers["cri"]
    assert one(cri, "format") == "regex"
    regex = python_regex(one(cri, "regex"))
    parser_filter = named(config, "FILTER", "parser")
    ours = parsers[one(parser_filter, "parser")]
    assert one(ours, "format") == "json"
    time_key, time_format = one(ours, "time_key"), one(ours, "time_format")
    now = datetime.now(UTC)

    for line in app_lines:
        record = regex.fullmatch(cri_line(line))
        assert record, line
        written = parse_time(record[one(cri, "time_key")], one(cri, "time_format"))
        assert abs(written - now) < timedelta(minutes=1)
        # The parser filter reads the key the CRI parser put the line under.
        payload = record.groupdict()[one(parser_filter, "key_name")]
        assert payload == line
        fields = json.loads(payload)
        stamped = parse_time(fields[time_key], time_format)
        assert stamped.utcoffset() == timedelta(0)
        assert abs(stamped - now) < timedelta(minutes=1)
        # Keys the modify filters and CloudWatch Logs Insights queries rely on.
        assert {"event", "level", "logger", time_key} <= fields.keys()
        assert fields["logger"] == LOGGER

    first, plain, failure = (json.loads(line) for line in app_lines)
    assert first["event"] == "source_synced"
    assert first["request_id"] == "3b2f9c"
    assert plain["event"] == "plain standard-library line"
    assert failure["level"] == "error"
    assert "provider answered 502" in str(failure["exception"])


def test_modify_filters_read_keys_the_cri_parser_and_our_lines_provide(
    config: list[Section], parsers: dict[str, dict[str, list[str]]], app_lines: list[str]
) -> None:
    cri_keys = set(python_regex(one(parsers["cri"], "regex")).groupindex)
    our_keys = set(json.loads(app_lines[0]))
    modifies = [entries for section, entries in config if section == "FILTER" and one(entries, "name") == "modify"]
    for modify in modifies:
        for condition in modify["condition"]:
            kind, key, *_ = condition.split()
            if kind == "Key_Does_Not_Exist":
                # Present in our lines, so only lines that are not ours get a default.
                assert key in our_keys
            else:
                assert key in cri_keys
        (added,) = modify["add"]
        assert added.split()[0] in our_keys


def test_a_line_that_is_not_json_still_matches_the_cri_parser(parsers: dict[str, dict[str, list[str]]]) -> None:
    record = python_regex(one(parsers["cri"], "regex")).fullmatch(
        cri_line("Traceback (most recent call last):", stream="stderr")
    )
    assert record
    assert record["stream"] == "stderr"
    with pytest.raises(json.JSONDecodeError):
        json.loads(record["log"])
