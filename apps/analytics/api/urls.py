from django.urls import path

from apps.analytics.api import views

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
    path("experiments/<str:key>/results", views.ExperimentResultsView.as_view(), name="api-experiment-results"),
]
