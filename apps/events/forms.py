"""The Discover page's filters: a GET form whose values live in the URL."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django import forms

from apps.core.taxonomy import CATEGORY_CHOICES

WEEKEND_CHOICES = [("this", "This weekend"), ("next", "Next weekend")]

TIME_OF_DAY_CHOICES = [
    ("morning", "Morning"),
    ("afternoon", "Afternoon"),
    ("evening", "Evening"),
    ("night", "Night"),
]

DISTANCE_STEPS_KM = (1, 2, 5, 10, 25, 50, 100)


@dataclass(frozen=True)
class DiscoverFilters:
    weekend: Literal["this", "next"]
    distance_km: int
    categories: tuple[str, ...] = ()
    times_of_day: tuple[str, ...] = ()
    q: str = ""
    price_max: Decimal | None = None
    free: bool = False


class DiscoverForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            # static/js/discover.js: typing asks for the list; leaving the box does not ask again.
            attrs={
                "type": "search",
                "placeholder": "Jazz, flea market, kids…",
                "enterkeyhint": "search",
                "data-search-as-typed": "",
            }
        ),
    )
    weekend = forms.ChoiceField(label="When", choices=WEEKEND_CHOICES, required=False, widget=forms.RadioSelect)
    category = forms.MultipleChoiceField(
        label="Categories", choices=CATEGORY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    time = forms.MultipleChoiceField(
        label="Time of day",
        choices=TIME_OF_DAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="When it starts, in the event's local time.",
    )
    distance = forms.TypedChoiceField(label="Distance", coerce=int, choices=(), required=False, empty_value=None)
    price_max = forms.DecimalField(
        label="Max price",
        required=False,
        min_value=Decimal("0"),
        max_digits=8,
        decimal_places=2,
        help_text="In the event's currency.",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any", "min": "0"}),
    )
    free = forms.BooleanField(label="Free only", required=False)

    def __init__(self, *args: Any, default_distance_km: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_distance_km = default_distance_km
        steps = sorted({*DISTANCE_STEPS_KM, default_distance_km})
        distance = self.fields["distance"]
        assert isinstance(distance, forms.TypedChoiceField)
        distance.choices = [(km, f"Within {km} km") for km in steps]

    def filters(self) -> DiscoverFilters:
        """The valid values, with the defaults standing in for missing or invalid ones (shown as errors)."""
        self.is_valid()
        data = self.cleaned_data
        return DiscoverFilters(
            weekend="next" if data.get("weekend") == "next" else "this",
            distance_km=data.get("distance") or self.default_distance_km,
            categories=tuple(data.get("category") or ()),
            times_of_day=tuple(data.get("time") or ()),
            q=str(data.get("q") or "").strip(),
            price_max=data.get("price_max"),
            free=bool(data.get("free")),
        )
