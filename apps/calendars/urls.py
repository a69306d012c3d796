from django.urls import path

from apps.calendars import feeds, views

urlpatterns = [
    path("feeds/<str:token>.ics", feeds.calendar_feed, name="calendar-feed"),
    # HTML pages: My weekend, the plan form, "Add to my weekend", Calendars.
    path("weekend/", views.my_weekend, name="my-weekend"),
    path("weekend/plans/new/", views.plan_new, name="plan-new"),
    path("weekend/plans/<int:plan_id>/edit/", views.plan_edit, name="plan-edit"),
    path("weekend/plans/<int:plan_id>/remove/", views.plan_remove, name="plan-remove"),
    path("weekend/add/<int:event_id>/", views.weekend_add, name="weekend-add"),
    path("calendars/", views.calendars_page, name="calendars"),
    path("calendars/new/", views.calendar_new, name="calendar-create"),
    path("calendars/import/", views.calendar_import, name="calendar-import"),
    path("calendars/subscribe/", views.calendar_subscribe, name="calendar-subscribe"),
    path(
        "calendars/<int:calendar_id>/subscriptions/<int:subscription_id>/remove/",
        views.calendar_unsubscribe,
        name="calendar-unsubscribe",
    ),
    path(
        "calendars/<int:calendar_id>/feed/regenerate/",
        views.calendar_feed_regenerate,
        name="calendar-feed-regenerate",
    ),
]
