"""Staff pages need a second factor (settings.STAFF_MFA_REQUIRED, on in production).

A staff member or superuser who opens a staff page (the Django admin, the analytics dashboard) is sent
- to set up a second factor (allauth's two-factor page) when they have none, or
- to confirm one (allauth's reauthentication with a code or a security key) when this session has not used it:
  a password-only session, say, or one from before the requirement was switched on.
Everyone else and every other page pass untouched, the API included: tokens are issued and used as before.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from apps.users import selectors
from apps.users.models import User

# URL namespaces (app_name) whose pages are for staff only: the admin and the analytics dashboard (apps.analytics.urls).
STAFF_APP_NAMES = frozenset({"admin", "staff_analytics"})
# Leaving must stay possible without a second factor.
EXEMPT_URL_NAMES = frozenset({"logout"})


class StaffSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        # Read on every request, so the setting can be switched in tests without reloading the middleware.
        if not settings.STAFF_MFA_REQUIRED:
            return None
        match = request.resolver_match
        if match is None or match.app_name not in STAFF_APP_NAMES or match.url_name in EXEMPT_URL_NAMES:
            return None
        user = request.user
        if not isinstance(user, User) or not (user.is_staff or user.is_superuser):
            return None

        factors = selectors.second_factor_types(user=user)
        if not factors:
            messages.warning(request, "To open the staff pages, set up two-factor authentication first.")
            return HttpResponseRedirect(reverse("mfa_index"))
        if selectors.session_used_second_factor(request=request, user=user):
            return None
        messages.info(request, "Confirm it is you with your second factor to open the staff pages.")
        # The code form also takes a recovery code; someone with only security keys goes straight to theirs.
        confirm = "mfa_reauthenticate" if "totp" in factors else "mfa_reauthenticate_webauthn"
        return HttpResponseRedirect(f"{reverse(confirm)}?{urlencode({'next': request.get_full_path()})}")
