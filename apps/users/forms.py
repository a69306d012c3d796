from typing import Any

from django import forms

from apps.core.taxonomy import CATEGORY_CHOICES
from apps.core.validators import available_timezones
from apps.users.models import PROFILE_FIELDS, Profile


class ProfileForm(forms.ModelForm[Profile]):
    interests = forms.MultipleChoiceField(choices=CATEGORY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)
    timezone = forms.ChoiceField(choices=(), label="Time zone")

    class Meta:
        model = Profile
        fields = PROFILE_FIELDS
        labels = {
            "home_lat": "Home latitude",
            "home_lon": "Home longitude",
            "budget": "Budget per weekend",
            "max_distance_km": "How far you will go (km)",
        }
        help_texts = {"budget": "The most you want to spend, in your currency. Leave empty for no limit."}
        widgets = {"travel_mode": forms.RadioSelect}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field = self.fields["timezone"]
        assert isinstance(timezone_field, forms.ChoiceField)
        timezone_field.choices = [(tz, tz.replace("_", " ")) for tz in sorted(available_timezones())]
        self.fields["currency"].widget.attrs.update({"maxlength": 3, "autocapitalize": "characters", "size": 4})
        for name in ("home_lat", "home_lon"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        lat, lon = cleaned.get("home_lat"), cleaned.get("home_lon")
        if (lat is None) != (lon is None) and not self.errors.get("home_lat") and not self.errors.get("home_lon"):
            self.add_error("home_lon" if lon is None else "home_lat", "Give both latitude and longitude, or neither.")
        return cleaned


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label='Type "delete" to confirm',
        help_text="This removes your account and everything it holds. It cannot be undone.",
    )

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).strip().lower()
        if value != "delete":
            raise forms.ValidationError('Type "delete" to confirm.')
        return value
