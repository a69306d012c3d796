"""The authentication backend after Django's ModelBackend: allauth's, with the same work for every email."""

from allauth.account import app_settings
from allauth.account.auth_backends import AuthenticationBackend as AllauthAuthenticationBackend
from allauth.account.internal.userkit import filter_users_by_email
from django.contrib.auth.base_user import AbstractBaseUser


class AuthenticationBackend(AllauthAuthenticationBackend):
    """allauth looks an email up in its EmailAddress table and, only when no verified address matches there,
    in the user table as well: a known, verified email costs one query less than an unknown one, which a
    patient attacker can time. Here both tables are always read. Emails are unique across both (allauth's
    UNIQUE_EMAIL and the user table's constraint), so the user found is the same.

    The password hashing is allauth's: one hash against the user found, or one dummy hash when there is none."""

    def _authenticate_by_email(self, email: str, password: str) -> AbstractBaseUser | None:
        if not email or app_settings.LoginMethod.EMAIL not in app_settings.LOGIN_METHODS:
            return None
        for user in filter_users_by_email(email, for_login=True):
            checked: AbstractBaseUser | None = self._check_password(user, password)
            if checked is not None:
                return checked
        return None
