"""HTML routes of analytics for staff: the KPI dashboard. The namespace is in apps.users.middleware.STAFF_APP_NAMES,
so the staff second factor applies to every page under it."""

from django.urls import path

from apps.analytics import dashboard

app_name = "staff_analytics"

urlpatterns = [
    path("staff/analytics/", dashboard.dashboard, name="dashboard"),
]
