from typing import Any

from django import forms

# The lead times a person can choose; "" is off (stored as None).
REMINDER_CHOICES = [
    ("", "Off"),
    ("15", "15 minutes before"),
    ("30", "30 minutes before"),
    ("60", "1 hour before"),
    ("120", "2 hours before"),
    ("1440", "1 day before"),
]
REMINDER_MINUTES = tuple(int(value) for value, _ in REMINDER_CHOICES if value)


class PreferencesForm(forms.Form):
    reminder_minutes = forms.TypedChoiceField(
        label="Reminders before your plans",
        choices=REMINDER_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    weekly_digest = forms.BooleanField(
        label="“Your weekend”, every Thursday evening",
        required=False,
        help_text="Your plans for the weekend, clashes to fix and a few ideas.",
    )
    group_invitations = forms.BooleanField(label="Invitations to groups", required=False)
    poll_updates = forms.BooleanField(label="Polls in your groups opening and closing", required=False)
    group_plan_updates = forms.BooleanField(label="Your groups' plans being made, changed or cancelled", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        initial = self.initial.get("reminder_minutes")
        if initial is not None and initial not in REMINDER_MINUTES:  # a value set another way stays choosable
            field = self.fields["reminder_minutes"]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = [*REMINDER_CHOICES, (str(initial), f"{initial} minutes before")]
