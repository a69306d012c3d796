"""django-prometheus's after-middleware, recording only the request series the chart and docs/metrics.md use.

The library's own records a dozen more samples per request (by transport, request and response body sizes,
charset, template, streaming, by view and transport) that no dashboard or alert reads; in multiprocess mode each
sample is a locked write to a memory-mapped file, and together they were about a twentieth of a signed-in API
request's CPU (docs/benchmarks.md). The series kept, with the library's names and labels: requests by method,
responses by status, view and method, latency by view and method, and exceptions by type and by view.
"""

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django_prometheus.middleware import PrometheusAfterMiddleware
from django_prometheus.utils import Time, TimeSince


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        self.metrics.requests_by_method.labels(method=self._method(request)).inc()
        request.prometheus_after_middleware_event = Time()  # type: ignore[attr-defined]

    def process_view(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def process_template_response(self, _request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return response

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        method, view = self._method(request), self._get_view_name(request)
        self.metrics.responses_by_status_view_method.labels(
            status=str(response.status_code), view=view, method=method
        ).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is None:
            self.metrics.requests_unknown_latency.inc()
        else:
            # By the checked method (the library labels with the raw one: any string a client sends).
            self.metrics.requests_latency_by_view_method.labels(view=view, method=method).observe(TimeSince(started))
        return response
