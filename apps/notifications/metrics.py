"""Emails by kind and outcome, counted where the outcome is decided (the web process that stores a row, the
worker that sends it); with PROMETHEUS_MULTIPROC_DIR set the scrape sums every process (docs/metrics.md)."""

from prometheus_client import Counter

from apps.notifications.models import Kind

EMAILS = Counter(
    "planner_notifications_emails_total",
    "Emails by kind and outcome: sent, retried (temporary failure), failed (gave up), bounced (permanent "
    "failure), suppressed (opted out, bounced address, too late) and deferred (quiet hours).",
    ["kind", "outcome"],
)

OUTCOMES = ("sent", "retried", "failed", "bounced", "suppressed", "deferred")
# Every series exists from the start at 0, so rate() and the alert see a process that has sent nothing yet.
for _kind in Kind.values:
    for _outcome in OUTCOMES:
        EMAILS.labels(kind=_kind, outcome=_outcome)


def count(kind: str, outcome: str) -> None:
    EMAILS.labels(kind=kind, outcome=outcome).inc()
