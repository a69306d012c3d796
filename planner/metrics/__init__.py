"""Prometheus metrics of the Celery processes: task counts and durations, queue lengths, beat's heartbeat.

Web metrics come from django-prometheus and the apps (apps.core.metrics); this package adds what Celery
needs and serves it on METRICS_ADDR:METRICS_PORT from the worker's and beat's main process. The metric
names are a contract with the chart's PrometheusRule and dashboard (docs/metrics.md lists them).
"""
