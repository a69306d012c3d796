"""HTML forms of the groups pages: a new group, an invitation by email, a poll proposed from the group's best
windows and the weekend's catalogue events. They say what is wrong next to the field; the services write."""

from datetime import datetime
from typing import Any

from django import forms

MIN_POLL_OPTIONS, MAX_POLL_OPTIONS = 2, 10


class GroupForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        required=False, label="What is it for? (optional)", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("Give the group a name.")
        return name


class InviteEmailForm(forms.Form):
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class PollForm(forms.Form):
    """`windows` and `events` are what the page offers: (value, label) pairs. A window's value is
    "<start ISO>/<end ISO>", an event's "event:<id>"."""

    question = forms.CharField(max_length=300, label="Question", initial="When shall we meet?")
    options = forms.MultipleChoiceField(
        label="Options",
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Pick {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS}.",
    )

    def __init__(self, *args: Any, windows: list[tuple[str, str]], events: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["options"].choices = windows + events  # type: ignore[attr-defined]

    def clean_question(self) -> str:
        question = str(self.cleaned_data["question"]).strip()
        if not question:
            raise forms.ValidationError("Ask a question.")
        return question

    def clean_options(self) -> list[dict[str, Any]]:
        picked: list[str] = self.cleaned_data["options"]
        if not MIN_POLL_OPTIONS <= len(picked) <= MAX_POLL_OPTIONS:
            raise forms.ValidationError(f"Pick {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS} options.")
        options: list[dict[str, Any]] = []
        for value in picked:
            if value.startswith("event:"):
                options.append({"event_id": int(value.removeprefix("event:"))})
            else:
                start, end = (datetime.fromisoformat(part) for part in value.split("/", 1))
                options.append({"start": start, "end": end})  # the poll labels it on the proposer's clock
        return options
