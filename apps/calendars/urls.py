from django.urls import path

from apps.calendars import feeds

urlpatterns = [
    path("feeds/<str:token>.ics", feeds.calendar_feed, name="calendar-feed"),
]
