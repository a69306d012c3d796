from django.urls import path

from apps.itineraries.api import views

urlpatterns = [
    path("itineraries", views.ItineraryListView.as_view(), name="api-itineraries"),
    path("itineraries/<int:itinerary_id>", views.ItineraryDetailView.as_view(), name="api-itinerary"),
    path("itineraries/<int:itinerary_id>/accept", views.AcceptView.as_view(), name="api-itinerary-accept"),
    path("itineraries/<int:itinerary_id>/replan", views.ReplanView.as_view(), name="api-itinerary-replan"),
    path("itineraries/<int:itinerary_id>/stops/<int:stop_id>", views.StopView.as_view(), name="api-itinerary-stop"),
    path(
        "itineraries/<int:itinerary_id>/stops/<int:stop_id>/alternatives",
        views.AlternativesView.as_view(),
        name="api-itinerary-stop-alternatives",
    ),
    path(
        "itineraries/<int:itinerary_id>/stops/<int:stop_id>/swap",
        views.SwapView.as_view(),
        name="api-itinerary-stop-swap",
    ),
]
