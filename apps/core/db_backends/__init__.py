"""Database backends: Django's, instrumented by django-prometheus, with the tweaks in each package."""
