"""HTML routes of recommendations: the "For you" section (for htmx) and its feedback buttons."""

from django.urls import path

from apps.recommendations import views

urlpatterns = [
    path("for-you/", views.for_you, name="for-you"),
    path("for-you/<int:event_id>/<str:action>/", views.feedback, name="for-you-feedback"),
]
