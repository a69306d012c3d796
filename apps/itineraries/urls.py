"""HTML routes of Plan my weekend."""

from django.urls import path

from apps.itineraries import views

urlpatterns = [
    path("weekend/plan/", views.plan_start, name="plan-my-weekend"),
    path("weekend/plan/new/", views.plan_create, name="itinerary-create"),
    path("weekend/plan/<int:itinerary_id>/", views.itinerary_page, name="itinerary"),
    path("weekend/plan/<int:itinerary_id>/accept/", views.itinerary_accept, name="itinerary-accept"),
    path("weekend/plan/<int:itinerary_id>/replan/", views.itinerary_replan, name="itinerary-replan"),
    path(
        "weekend/plan/<int:itinerary_id>/stops/<int:stop_id>/<str:action>/",
        views.stop_action,
        name="itinerary-stop-action",
    ),
]
