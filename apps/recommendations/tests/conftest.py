from collections.abc import Iterator

import pytest

from apps.recommendations import catalogue, selectors


@pytest.fixture(autouse=True)
def _fresh_popularity() -> Iterator[None]:
    # Popularity is remembered per process for a few minutes, and the catalogue's copy until it changes (a test's
    # catalogue may have the same version as the last test's): each test starts from its own data.
    selectors.popularity_forget()
    catalogue.forget()
    yield
    selectors.popularity_forget()
    catalogue.forget()
