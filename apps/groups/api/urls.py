"""API routes of groups (under /api/v1/): groups, members, invitations and availability; polls and group plans."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.groups.api.urls_groups")),
    path("", include("apps.groups.api.urls_polls")),
]
