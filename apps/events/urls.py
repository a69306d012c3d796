"""HTML routes of the events app: the Discover page and the event page."""

from django.urls import path

from apps.events import views

urlpatterns = [
    path("discover/", views.discover, name="discover"),
    path("events/<int:event_id>/", views.event_detail, name="event-detail"),
]
