"""The business KPIs for staff: a metric's points, its CSV export, and the funnel. Read from the daily rollup's rows
(apps.analytics.selectors_kpis); where no beat runs (ANALYTICS_ROLLUP_ON_REQUEST) the days are rolled up first."""

import csv
import io
from datetime import date

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analytics import rollup, selectors_kpis
from apps.analytics.api.kpi_serializers import FunnelOut, KpiOut, KpiParams, RangeParams, granularity
from apps.analytics.api.views import STAFF_ONLY, StaffAPIView
from apps.core.api.schema import error_response
from apps.core.api.views import validated

TAGS = ["analytics"]
BAD_RANGE = error_response(400, "A parameter is missing or invalid (`error.fields` names it): start, end, metric...")


def _rolled_up(start: date, end: date) -> None:
    if settings.ANALYTICS_ROLLUP_ON_REQUEST:
        rollup.rollup_on_request(start=start, end=end, today=timezone.now().date())


class KpiView(StaffAPIView):
    @extend_schema(
        parameters=[KpiParams],
        responses={200: KpiOut, 400: BAD_RANGE, **STAFF_ONLY},
        description="A metric's points from the daily rollup: one per day rolled up, or per ISO week.",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        params = validated(KpiParams, request.query_params)
        _rolled_up(params["start"], params["end"])
        points = selectors_kpis.kpi_points(
            metric=params["metric"],
            start=params["start"],
            end=params["end"],
            granularity=granularity(params["granularity"]),
            segment=params["segment"],
        )
        return Response(
            KpiOut(
                {
                    "metric": params["metric"],
                    "granularity": params["granularity"],
                    "segment": params["segment"],
                    "points": points,
                }
            ).data
        )


class KpiExportView(StaffAPIView):
    @extend_schema(
        parameters=[KpiParams],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="date,metric,segment,value: the whole product's points, then each segment's.",
            ),
            400: BAD_RANGE,
            **STAFF_ONLY,
        },
        description="The metric as CSV, with every segment it is broken down by (`segment` is ignored).",
        tags=TAGS,
    )
    def get(self, request: Request) -> HttpResponse:
        params = validated(KpiParams, request.query_params)
        _rolled_up(params["start"], params["end"])
        rows = selectors_kpis.kpi_export_rows(
            metric=params["metric"],
            start=params["start"],
            end=params["end"],
            granularity=granularity(params["granularity"]),
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "metric", "segment", "value"])
        for day, segment, value in rows:
            writer.writerow([day.isoformat(), params["metric"], segment, "" if value is None else repr(value)])
        name = f"{params['metric']}_{params['start']}_{params['end']}.csv"
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class FunnelView(StaffAPIView):
    @extend_schema(
        parameters=[RangeParams],
        responses={200: FunnelOut, 400: BAD_RANGE, **STAFF_ONLY},
        description="impression → click → save → plan: the people at each step and the conversion from the one before.",
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        params = validated(RangeParams, request.query_params)
        _rolled_up(params["start"], params["end"])
        steps = selectors_kpis.funnel(start=params["start"], end=params["end"])
        return Response(FunnelOut({"start": params["start"], "end": params["end"], "steps": steps}).data)
