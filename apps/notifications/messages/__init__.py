"""The renderers of each kind of email, one module per family (reminder.py, digest.py, groups.py, address.py).

`load()` imports every module of this package so their `@rendering.register(kind)` run; the app's `ready()`
calls it, and a new module needs no edit here.
"""

import importlib
import pkgutil


def load() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
