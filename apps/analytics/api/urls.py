from django.urls import path

from apps.analytics.api import kpi_views, views

urlpatterns = [
    path("track", views.TrackView.as_view(), name="api-track"),
    path("experiments", views.ExperimentListView.as_view(), name="api-experiments"),
    path("experiments/<str:key>/start", views.ExperimentStartView.as_view(), name="api-experiment-start"),
    path("experiments/<str:key>/stop", views.ExperimentStopView.as_view(), name="api-experiment-stop"),
    path(
        "experiments/<str:key>/assignment",
        views.ExperimentAssignmentView.as_view(),
        name="api-experiment-assignment",
    ),
    path("analytics/kpis", kpi_views.KpiView.as_view(), name="api-analytics-kpis"),
    path("analytics/kpis/export", kpi_views.KpiExportView.as_view(), name="api-analytics-kpis-export"),
    path("analytics/funnel", kpi_views.FunnelView.as_view(), name="api-analytics-funnel"),
    path("experiments/<str:key>/results", views.ExperimentResultsView.as_view(), name="api-experiment-results"),
]
