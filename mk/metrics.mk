# Metrics. Real gunicorn (docker/gunicorn.conf.py, 2 workers), a prefork Celery worker and
# beat are started on the test database and Redis and scraped over HTTP; the chart's PrometheusRule and dashboard
# (rendered by helm with the production values) may only query what those scrapes return. docs/metrics.md.
.PHONY: metrics-test

metrics-test: helm services
	$(TEST_ENV) $(BIN)/pytest tests/deploy/test_metrics.py tests/deploy/test_gunicorn_config.py
