"""HTML routes of notifications."""

from django.urls import path

from apps.notifications import views

urlpatterns = [
    path("settings/notifications/", views.preferences_edit, name="notification-settings"),
    path("settings/notifications/confirm-address/", views.address_confirmation_send, name="notifications-confirm-send"),
    path("email/confirm/<str:token>/", views.address_confirm, name="notifications-confirm-address"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="notifications-unsubscribe"),
]
