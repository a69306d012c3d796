from django.urls import path

from apps.calendars import feeds
from apps.calendars.views import calendars, plans, weekend

urlpatterns = [
    path("feeds/<str:token>.ics", feeds.calendar_feed, name="calendar-feed"),
    # HTML pages: My weekend, the plan form, "Add to my weekend", Calendars.
    path("weekend/", weekend.my_weekend, name="my-weekend"),
    path("weekend/plans/new/", plans.plan_new, name="plan-new"),
    path("weekend/plans/<int:plan_id>/edit/", plans.plan_edit, name="plan-edit"),
    path("weekend/plans/<int:plan_id>/remove/", plans.plan_remove, name="plan-remove"),
    path("weekend/add/<int:event_id>/", plans.weekend_add, name="weekend-add"),
    path("calendars/", calendars.calendars_page, name="calendars"),
    path("calendars/new/", calendars.calendar_new, name="calendar-create"),
    path("calendars/import/", calendars.calendar_import, name="calendar-import"),
    path("calendars/subscribe/", calendars.calendar_subscribe, name="calendar-subscribe"),
    path(
        "calendars/<int:calendar_id>/subscriptions/<int:subscription_id>/remove/",
        calendars.calendar_unsubscribe,
        name="calendar-unsubscribe",
    ),
    path(
        "calendars/<int:calendar_id>/feed/regenerate/",
        calendars.calendar_feed_regenerate,
        name="calendar-feed-regenerate",
    ),
]
