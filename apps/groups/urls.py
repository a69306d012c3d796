"""HTML routes of groups."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
