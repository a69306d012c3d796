"""What sign-in tells the apps above it (they connect in their AppConfig.ready()). A browser sign-in sends
Django's user_logged_in; an API client that obtains a token pair never has a session, so it sends this instead."""

from django.dispatch import Signal

# Sent after a token pair was issued for a correct email and password. Keyword argument: user (User).
token_obtained = Signal()
