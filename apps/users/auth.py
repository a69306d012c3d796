from django.http import HttpRequest
from rest_framework.request import Request

from apps.users.models import User


def request_user(request: HttpRequest | Request) -> User:
    """The signed-in person of a request that authentication already required."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("request_user() needs an authenticated request")
    return user
