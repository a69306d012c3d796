"""allauth's account adapter for this project: its password log-in goes through our sign-in limits."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from apps.core.client_ip import client_ip
from apps.users import lockout, services


class AccountAdapter(DefaultAccountAdapter):
    """allauth calls pre_authenticate, then the backends, then authentication_failed or (by returning the user)
    success, on one adapter instance per log-in form; it also keeps its own rate limits (ACCOUNT_RATE_LIMITS).

    A blocked attempt gets allauth's "too many failed login attempts" message, a wrong email or password its
    "not correct" one: the same words for an account that exists and one that does not."""

    _sign_in_attempt: services.SignInAttempt | None = None

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)
        email = str(credentials.get("email") or credentials.get("username") or "")
        address = lockout.client_address(request) if request is not None else None
        try:
            self._sign_in_attempt = services.sign_in_begin(email=email, address=address)
        except services.SignInBlocked:
            raise self.validation_error("too_many_login_attempts") from None

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        user: AbstractBaseUser | None = super().authenticate(request, **credentials)
        if user is not None and self._sign_in_attempt is not None:
            services.sign_in_succeeded(attempt=self._sign_in_attempt)
        return user

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's rate limits and session records count the address our limits count (apps.core.client_ip)."""
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        super().authentication_failed(request, **credentials)
        if self._sign_in_attempt is not None:
            services.sign_in_failed(attempt=self._sign_in_attempt)
