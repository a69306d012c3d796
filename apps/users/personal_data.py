"""The registry of what each app holds about a person, for the account export and deletion.

`users` sits at the bottom of the app layers and cannot import the apps above it, so each app registers
its own section in its AppConfig.ready(): an exporter returning JSON-ready data, and optionally an eraser
for what does not disappear with the user row through ON DELETE CASCADE (anonymised analytics, files).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.users.models import User


@dataclass(frozen=True)
class PersonalDataSection:
    name: str
    export: Callable[["User"], Any]
    erase: Callable[["User"], None] | None = None


_sections: dict[str, PersonalDataSection] = {}


def register(name: str, *, export: Callable[["User"], Any], erase: Callable[["User"], None] | None = None) -> None:
    if name in _sections and _sections[name].export is not export:
        raise ValueError(f"A personal-data section named {name!r} is already registered.")
    _sections[name] = PersonalDataSection(name=name, export=export, erase=erase)


def sections() -> list[PersonalDataSection]:
    return list(_sections.values())
