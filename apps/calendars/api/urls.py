from django.urls import path

from apps.calendars.api.views import calendars, plans, subscriptions, windows

CALENDAR = "calendars/<int:calendar_id>"
PLAN = f"{CALENDAR}/plans/<int:plan_id>"

urlpatterns = [
    path("calendars", calendars.CalendarListView.as_view(), name="api-calendars"),
    path(CALENDAR, calendars.CalendarDetailView.as_view(), name="api-calendar"),
    path(f"{CALENDAR}/feed", calendars.CalendarFeedView.as_view(), name="api-calendar-feed"),
    path(f"{CALENDAR}/ics", calendars.CalendarIcsView.as_view(), name="api-calendar-ics"),
    path(f"{CALENDAR}/import", calendars.CalendarImportView.as_view(), name="api-calendar-import"),
    path(f"{CALENDAR}/subscriptions", subscriptions.SubscriptionListView.as_view(), name="api-subscriptions"),
    path(
        f"{CALENDAR}/subscriptions/<int:subscription_id>",
        subscriptions.SubscriptionDetailView.as_view(),
        name="api-subscription",
    ),
    path(f"{CALENDAR}/occurrences", windows.OccurrenceListView.as_view(), name="api-occurrences"),
    path(f"{CALENDAR}/plans", plans.PlanListView.as_view(), name="api-plans"),
    path(PLAN, plans.PlanDetailView.as_view(), name="api-plan"),
    path(f"{PLAN}/occurrences/<str:recurrence_id>", plans.OccurrenceDetailView.as_view(), name="api-occurrence"),
    path("plans/from-event", plans.PlanFromEventView.as_view(), name="api-plan-from-event"),
    path("conflicts", windows.ConflictListView.as_view(), name="api-conflicts"),
    path("me/freebusy", windows.FreeBusyView.as_view(), name="api-freebusy"),
]
