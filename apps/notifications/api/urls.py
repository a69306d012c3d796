"""API routes of notifications (under /api/v1/)."""

from django.urls import path

from apps.notifications.api import views

urlpatterns = [
    path("me/notifications", views.MyNotificationsView.as_view(), name="api-me-notifications"),
]
