"""HTML forms of the calendars pages: a plan (with its repetition), a new calendar, an ICS upload, a
subscription.

They check what a person typed and say what is wrong next to the field; the services stay the only place
that writes, and their own refusals (PlanInputError) are mapped back onto these fields by the views.
"""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet

from apps.calendars import plan_fields, recurrence
from apps.calendars.ical import PlanData
from apps.calendars.models import Calendar, Plan
from apps.core.validators import available_timezones

REPEAT_CHOICES = [
    ("none", "Does not repeat"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("custom", "Custom rule"),
]
_SIMPLE_RULE = re.compile(r"^FREQ=(DAILY|WEEKLY|MONTHLY)(?:;(COUNT|UNTIL)=([0-9TZ]+))?$")
MAX_COUNT = 500
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

# Which service error belongs to which form field.
SERVICE_FIELDS = {
    "end": "end_time",
    "start": "start_time",
    "rrule": "rrule",
    "title": "title",
    "timezone": "timezone",
    "calendar": "calendar",
}


def timezone_choices() -> list[tuple[str, str]]:
    return [(tz, tz.replace("_", " ")) for tz in sorted(available_timezones())]


class CalendarChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} (default)" if obj.is_default else str(obj.name)


class PlanForm(forms.Form):
    title = forms.CharField(max_length=500)
    calendar = CalendarChoiceField(queryset=Calendar.objects.none(), empty_label=None)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    all_day = forms.BooleanField(required=False, label="All day")
    start_time = forms.TimeField(
        required=False, label="Starts", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_time = forms.TimeField(
        required=False, label="Ends", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    timezone = forms.ChoiceField(
        required=False, label="Time zone", help_text="Leave as is to use the calendar's time zone."
    )
    location = forms.CharField(max_length=500, required=False)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label="Latitude")
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, label="Longitude")
    repeat = forms.ChoiceField(choices=REPEAT_CHOICES, initial="none", widget=forms.RadioSelect, label="Repeat")
    rrule = forms.CharField(
        max_length=500,
        required=False,
        label="Custom rule (RRULE)",
        help_text="For example FREQ=WEEKLY;BYDAY=SA,SU or FREQ=MONTHLY;BYDAY=1SA.",
    )
    repeat_until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    repeat_count = forms.IntegerField(required=False, min_value=1, max_value=MAX_COUNT, label="How many times")

    def __init__(self, *args: Any, calendars: QuerySet[Calendar], existing: Plan | None = None, **kwargs: Any) -> None:
        """`existing` is the plan being edited: it fills the form and keeps what the form does not show."""
        if existing is not None:
            kwargs.setdefault("initial", self.initial_for(existing))
        super().__init__(*args, **kwargs)
        self.existing = existing
        calendar_field = self.fields["calendar"]
        assert isinstance(calendar_field, forms.ModelChoiceField)
        calendar_field.queryset = calendars
        timezone_field = self.fields["timezone"]
        assert isinstance(timezone_field, forms.ChoiceField)
        timezone_field.choices = [("", "The calendar's time zone"), *timezone_choices()]
        for name in ("lat", "lon"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        self.fields["repeat_count"].widget.attrs.update({"inputmode": "numeric"})
        self.rule = ""

    @staticmethod
    def initial_for(plan: Plan) -> dict[str, Any]:
        """The stored plan in the form's fields (its first occurrence, its rule)."""
        zone = ZoneInfo(plan.timezone)
        stored = plan_fields.written(plan)
        initial: dict[str, Any] = {
            name: stored[name] for name in ("title", "all_day", "timezone", "location", "lat", "lon")
        }
        initial.update(calendar=plan.calendar_id, repeat="none")
        if plan.all_day:
            initial["date"] = plan.start_date
        elif plan.start_local is not None and plan.end_local is not None:
            initial.update(
                date=plan.start_local.date(),
                start_time=plan.start_local.time(),
                end_time=plan.end_local.time(),
            )
        if plan.rrule:
            match = _SIMPLE_RULE.match(plan.rrule)
            if match is None:
                initial.update(repeat="custom", rrule=plan.rrule)
            else:
                initial["repeat"] = match.group(1).lower()
                if match.group(2) == "COUNT":
                    initial["repeat_count"] = int(match.group(3))
                elif match.group(2) == "UNTIL":
                    initial["repeat_until"] = _until_date(match.group(3), zone)
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        all_day = bool(cleaned.get("all_day"))
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if not all_day:
            if start is None and "start_time" not in self.errors:
                self.add_error("start_time", "Give a start time, or tick All day.")
            if end is None and "end_time" not in self.errors:
                self.add_error("end_time", "Give an end time, or tick All day.")
            if start is not None and end is not None and end < start:
                self.add_error("end_time", "The end must be after the start.")
        lat, lon = cleaned.get("lat"), cleaned.get("lon")
        if (lat is None) != (lon is None) and "lat" not in self.errors and "lon" not in self.errors:
            self.add_error("lon" if lon is None else "lat", "Give both latitude and longitude, or neither.")
        self._clean_repeat(cleaned, all_day)
        return cleaned

    def _clean_repeat(self, cleaned: dict[str, Any], all_day: bool) -> None:
        repeat = cleaned.get("repeat") or "none"
        until, count = cleaned.get("repeat_until"), cleaned.get("repeat_count")
        if repeat == "none":
            self.rule = ""
            return
        if until is not None and count is not None:
            self.add_error("repeat_count", "Give an end date or a number of times, not both.")
            return
        day = cleaned.get("date")
        if until is not None and day is not None and until < day:
            self.add_error("repeat_until", "The repetition cannot end before the first date.")
            return
        if repeat == "custom":
            text = str(cleaned.get("rrule") or "").strip().removeprefix("RRULE:")
            if not text:
                self.add_error("rrule", "Write the rule, for example FREQ=WEEKLY;BYDAY=SA.")
                return
            has_end = re.search(r"(^|;)\s*(COUNT|UNTIL)\s*=", text, re.IGNORECASE) is not None
            if has_end and (until is not None or count is not None):
                self.add_error("rrule", "The rule already says when it ends; leave Until and times empty.")
                return
        else:
            text = f"FREQ={repeat.upper()}"
        if count is not None:
            text += f";COUNT={count}"
        elif until is not None:
            text += f";UNTIL={until:%Y%m%d}"
        tz = cleaned.get("timezone") or self._calendar_timezone(cleaned)
        try:
            self.rule = recurrence.validate_rrule(text, timezone=tz, all_day=all_day)
        except recurrence.RecurrenceError as exc:
            self.add_error("rrule" if repeat == "custom" else "repeat", str(exc))

    @staticmethod
    def _calendar_timezone(cleaned: dict[str, Any]) -> str | None:
        calendar = cleaned.get("calendar")
        return calendar.timezone if isinstance(calendar, Calendar) else None

    def plan_data(self) -> PlanData:
        """What to save; an edit keeps what the form does not show (notes, status, extra dates, the UID)."""
        cleaned, existing = self.cleaned_data, self.existing
        calendar: Calendar = cleaned["calendar"]
        day: date = cleaned["date"]
        all_day = bool(cleaned.get("all_day"))
        values = plan_fields.written(existing) if existing else {}
        if not (existing and self.rule and existing.rrule == self.rule):  # other dates belong to another rule
            values.update(rdates=[], exdates=[])
        values.update(
            title=cleaned["title"],
            timezone=cleaned.get("timezone") or calendar.timezone,
            all_day=all_day,
            start=day if all_day else datetime.combine(day, cleaned["start_time"]),
            end=day + timedelta(days=1) if all_day else datetime.combine(day, cleaned["end_time"]),
            rrule=self.rule,
            location=cleaned.get("location") or "",
            lat=cleaned.get("lat"),
            lon=cleaned.get("lon"),
        )
        if existing is None:
            return plan_fields.plan_data(**values)
        return plan_fields.plan_data(**values, uid=existing.ical_uid, sequence=existing.sequence)


def _until_date(value: str, zone: ZoneInfo) -> date | None:
    try:
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").date()
        moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if value.endswith("Z"):
        return moment.replace(tzinfo=UTC).astimezone(zone).date()
    return moment.date()


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=200)
    color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#1d5fd1",
        label="Colour",
        error_messages={"invalid": "Choose a colour like #1d5fd1."},
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    timezone = forms.ChoiceField(label="Time zone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field = self.fields["timezone"]
        assert isinstance(timezone_field, forms.ChoiceField)
        timezone_field.choices = timezone_choices()


class ImportForm(forms.Form):
    calendar = CalendarChoiceField(queryset=Calendar.objects.none(), empty_label=None, label="Into calendar")
    file = forms.FileField(
        label="ICS file",
        help_text="An .ics export from Google, Apple or Outlook. Importing the same file again updates it.",
        widget=forms.ClearableFileInput(attrs={"accept": ".ics,text/calendar"}),
    )

    def __init__(self, *args: Any, calendars: QuerySet[Calendar], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        calendar_field = self.fields["calendar"]
        assert isinstance(calendar_field, forms.ModelChoiceField)
        calendar_field.queryset = calendars

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return upload


class SubscribeForm(forms.Form):
    calendar = CalendarChoiceField(queryset=Calendar.objects.none(), empty_label=None, label="Into calendar")
    url = forms.CharField(
        label="Calendar address (URL)",
        max_length=2000,
        help_text="A public iCalendar address (https:// or webcal://). It is refreshed about every hour.",
        widget=forms.URLInput(attrs={"inputmode": "url", "placeholder": "https://example.org/events.ics"}),
    )

    def __init__(self, *args: Any, calendars: QuerySet[Calendar], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        calendar_field = self.fields["calendar"]
        assert isinstance(calendar_field, forms.ModelChoiceField)
        calendar_field.queryset = calendars
