from django.urls import path

from apps.events.api import views

urlpatterns = [
    path("events", views.EventListView.as_view(), name="api-events"),
    path("events/<int:event_id>", views.EventDetailView.as_view(), name="api-event"),
    path("categories", views.CategoryListView.as_view(), name="api-categories"),
]
