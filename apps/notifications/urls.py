"""HTML routes of notifications."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
