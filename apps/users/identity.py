"""The account and profile of an authenticated request, read with SQL compiled once per process.

Every API request authenticates, and the ORM's cost of building and compiling `User.objects.select_related(
"profile").get(pk=...)` (about 0.45 ms of CPU) was more than the query's round trip. The SQL is what that queryset
compiles to, taken from Django's own compiler once, and the rows become model instances through `from_db`, as the
ORM builds them, with the profile cached on the user (and the user on the profile) as select_related leaves them.
It always reads the primary: who is asking is never a replica's stale answer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from apps.core import queries
from apps.users.models import Profile, User


@dataclass(frozen=True)
class _Compiled:
    sql: str
    user_columns: tuple[int, ...]
    user_fields: tuple[str, ...]
    profile_columns: tuple[int, ...]
    profile_fields: tuple[str, ...]
    # What the ORM applies to each column it reads (JSON decoding, for one): column: (functions, expression).
    converters: dict[int, tuple[list[Callable[..., Any]], Any]]


@cache
def _compiled() -> _Compiled:
    queryset = User.objects.select_related("profile").filter(pk=0)
    compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    if list(params) != [0]:
        raise RuntimeError(f"Unexpected parameters for the identity query: {params!r}")
    (related,) = compiler.klass_info["related_klass_infos"]
    user_columns = tuple(compiler.klass_info["select_fields"])
    profile_columns = tuple(related["select_fields"])
    return _Compiled(
        sql=sql,
        user_columns=user_columns,
        user_fields=tuple(compiler.select[i][0].target.attname for i in user_columns),
        profile_columns=profile_columns,
        profile_fields=tuple(compiler.select[i][0].target.attname for i in profile_columns),
        converters=compiler.get_converters([column for column, _, _ in compiler.select]),
    )


def user_with_profile(pk: int) -> User | None:
    """The user with that id and their profile (`user.profile`, no further query), or None when there is none."""
    compiled = _compiled()
    connection = connections[DEFAULT_DB_ALIAS]
    with queries.prepared_cursor(connection) as cursor:  # every API request runs it: prepared once per connection
        cursor.execute(compiled.sql, [pk])
        found = cursor.fetchone()
    if found is None:
        return None
    row = list(found)
    for column, (functions, expression) in compiled.converters.items():
        for convert in functions:
            row[column] = convert(row[column], expression, connection)
    user = User.from_db(DEFAULT_DB_ALIAS, list(compiled.user_fields), [row[i] for i in compiled.user_columns])
    profile_values = [row[i] for i in compiled.profile_columns]
    profile = None
    if profile_values[compiled.profile_fields.index("id")] is not None:  # LEFT OUTER JOIN: the account may have none
        profile = Profile.from_db(DEFAULT_DB_ALIAS, list(compiled.profile_fields), profile_values)
        Profile._meta.get_field("user").set_cached_value(profile, user)
    User._meta.get_field("profile").set_cached_value(user, profile)
    return user
