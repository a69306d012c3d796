"""The one list of event categories: every app speaks these slugs."""

CATEGORIES: dict[str, str] = {
    "music": "Music",
    "nightlife": "Nightlife",
    "arts-theatre": "Arts & theatre",
    "film": "Film",
    "food-drink": "Food & drink",
    "sports": "Sports",
    "outdoors": "Outdoors",
    "family": "Family",
    "community": "Community",
    "learning": "Learning",
    "markets": "Markets",
    "festivals": "Festivals",
}

CATEGORY_SLUGS: frozenset[str] = frozenset(CATEGORIES)
CATEGORY_CHOICES: list[tuple[str, str]] = list(CATEGORIES.items())


def unknown_categories(slugs: list[str]) -> list[str]:
    return [slug for slug in slugs if slug not in CATEGORY_SLUGS]
