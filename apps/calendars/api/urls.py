from django.urls import path

from apps.calendars.api import views

urlpatterns = [
    path("calendars", views.CalendarListView.as_view(), name="api-calendars"),
    path("calendars/<int:calendar_id>", views.CalendarDetailView.as_view(), name="api-calendar"),
    path("calendars/<int:calendar_id>/feed", views.CalendarFeedView.as_view(), name="api-calendar-feed"),
    path("calendars/<int:calendar_id>/ics", views.CalendarIcsView.as_view(), name="api-calendar-ics"),
    path("calendars/<int:calendar_id>/import", views.CalendarImportView.as_view(), name="api-calendar-import"),
    path("calendars/<int:calendar_id>/subscriptions", views.SubscriptionListView.as_view(), name="api-subscriptions"),
    path(
        "calendars/<int:calendar_id>/subscriptions/<int:subscription_id>",
        views.SubscriptionDetailView.as_view(),
        name="api-subscription",
    ),
    path("calendars/<int:calendar_id>/occurrences", views.OccurrenceListView.as_view(), name="api-occurrences"),
    path("calendars/<int:calendar_id>/plans", views.PlanListView.as_view(), name="api-plans"),
    path("calendars/<int:calendar_id>/plans/<int:plan_id>", views.PlanDetailView.as_view(), name="api-plan"),
    path(
        "calendars/<int:calendar_id>/plans/<int:plan_id>/occurrences/<str:recurrence_id>",
        views.OccurrenceDetailView.as_view(),
        name="api-occurrence",
    ),
    path("plans/from-event", views.PlanFromEventView.as_view(), name="api-plan-from-event"),
    path("conflicts", views.ConflictListView.as_view(), name="api-conflicts"),
    path("me/freebusy", views.FreeBusyView.as_view(), name="api-freebusy"),
]
