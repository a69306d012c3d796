"""Access and refresh tokens: what is accepted, and every way a token must be refused with 401."""

import base64
import json
import time
import uuid

import jwt
import pytest
from django.conf import settings
from django.test import override_settings

from apps.users.jwt import key_id
from scripts.support.production_env import jwt_key_pair

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
ME_URL = "/api/v1/me"


def _claims(user, **overrides):
    now = int(time.time())
    claims = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub": str(user.pk),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    claims.update(overrides)
    return claims


def _sign(claims, *, private_key=None, kid=None, algorithm="RS256"):
    private_key = private_key or settings.JWT_PRIVATE_KEY
    kid = kid or key_id(settings.JWT_PUBLIC_KEY)
    return jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _get_me(api_client, token):
    return api_client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def _login(api_client, user):
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": user.raw_password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_login_returns_rs256_tokens_with_issuer_audience_and_key_id(api_client, user):
    pair = _login(api_client, user)

    header = jwt.get_unverified_header(pair["access"])
    assert header["alg"] == "RS256"
    assert header["kid"] == key_id(settings.JWT_PUBLIC_KEY)
    claims = jwt.decode(pair["access"], settings.JWT_PUBLIC_KEY, algorithms=["RS256"], audience="weekend-planner-app")
    assert claims["iss"] == "weekend-planner-api"
    assert claims["sub"] == str(user.pk)
    assert claims["token_type"] == "access"
    assert _get_me(api_client, pair["access"]).json()["email"] == user.email


def test_login_email_is_case_insensitive(api_client, user):
    response = api_client.post(TOKEN_URL, {"email": user.email.upper(), "password": user.raw_password}, format="json")
    assert response.status_code == 200


def test_wrong_password_is_401_in_the_error_shape(api_client, user):
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": "not it"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_inactive_account_gets_no_token(api_client, user):
    user.is_active = False
    user.save()
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": user.raw_password}, format="json")
    assert response.status_code == 401


def test_login_without_password_names_the_field(api_client, user):
    response = api_client.post(TOKEN_URL, {"email": user.email}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["password"]


def test_a_well_formed_token_is_accepted(api_client, user):
    assert _get_me(api_client, _sign(_claims(user))).status_code == 200


@pytest.mark.parametrize(
    ("case", "make_token"),
    [
        ("wrong audience", lambda u: _sign(_claims(u, aud="someone-else"))),
        ("wrong issuer", lambda u: _sign(_claims(u, iss="evil-issuer"))),
        ("expired", lambda u: _sign(_claims(u, exp=int(time.time()) - 10, iat=int(time.time()) - 400))),
        ("refresh used as access", lambda u: _sign(_claims(u, token_type="refresh"))),
        ("no audience claim", lambda u: _sign({k: v for k, v in _claims(u).items() if k != "aud"})),
        ("unknown kid", lambda u: _sign(_claims(u), kid="not-a-key-we-know")),
        ("signed by a stranger's key", lambda u: _sign(_claims(u), private_key=jwt_key_pair()[0])),
        (
            "alg none",
            lambda u: (
                f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': key_id(settings.JWT_PUBLIC_KEY)})}.{_b64(_claims(u))}."
            ),
        ),
        (
            "HS256 keyed with the public key",
            lambda u: (
                f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key_id(settings.JWT_PUBLIC_KEY)})}.{_b64(_claims(u))}"
            ),
        ),
        ("garbage", lambda u: "not.a.jwt"),
    ],
)
def test_forged_or_unfit_tokens_are_refused(api_client, user, case, make_token):
    token = make_token(user)
    if case == "HS256 keyed with the public key":
        # Sign the HMAC by hand: PyJWT itself refuses to use a PEM key as an HMAC secret.
        import hashlib
        import hmac

        signature = hmac.new(settings.JWT_PUBLIC_KEY.encode(), token.encode(), hashlib.sha256).digest()
        token = f"{token}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    response = _get_me(api_client, token)

    assert response.status_code == 401, case
    assert response.json()["error"]["code"] in {"token_not_valid", "authentication_failed"}


def test_tokens_signed_with_the_previous_key_stay_valid_during_rotation(api_client, user):
    old_private, old_public = jwt_key_pair()
    token = _sign(_claims(user), private_key=old_private, kid=key_id(old_public))
    assert _get_me(api_client, token).status_code == 401

    with override_settings(JWT_PREVIOUS_PUBLIC_KEY=old_public):
        assert _get_me(api_client, token).status_code == 200
        # New tokens are signed with the current key only.
        new_access = _login(api_client, user)["access"]
        assert jwt.get_unverified_header(new_access)["kid"] == key_id(settings.JWT_PUBLIC_KEY)


def test_refresh_rotates_the_refresh_token(api_client, user):
    first = _login(api_client, user)

    response = api_client.post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")

    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert _get_me(api_client, second["access"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family(api_client, user):
    first = _login(api_client, user)
    second = api_client.post(REFRESH_URL, {"refresh": first["refresh"]}, format="json").json()

    reuse = api_client.post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    assert reuse.status_code == 401

    # The newer token, issued from the same log-in, is revoked too.
    assert api_client.post(REFRESH_URL, {"refresh": second["refresh"]}, format="json").status_code == 401


def test_an_access_token_cannot_be_used_to_refresh(api_client, user):
    pair = _login(api_client, user)
    response = api_client.post(REFRESH_URL, {"refresh": pair["access"]}, format="json")
    assert response.status_code == 401


def test_logout_revokes_the_refresh_token(api_client, user):
    pair = _login(api_client, user)

    assert api_client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert api_client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json").status_code == 401


def test_logout_with_a_forged_token_is_401(api_client, user):
    forged = _sign(_claims(user, token_type="refresh"), private_key=jwt_key_pair()[0])
    assert api_client.post(LOGOUT_URL, {"refresh": forged}, format="json").status_code == 401


def test_refresh_without_a_token_names_the_field(api_client):
    response = api_client.post(REFRESH_URL, {}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()["error"]["fields"]


def test_a_remembered_token_still_expires_and_a_changed_one_is_verified_again(api_client, user, clock):
    from apps.users.jwt import token_backend

    token = _sign(_claims(user))
    assert _get_me(api_client, token).status_code == 200
    assert token in token_backend()._verified  # verified once, remembered for the next requests
    assert _get_me(api_client, token).status_code == 200

    head, _, signature = token.split(".")
    forged = f"{head}.{_b64({**_claims(user), 'sub': str(user.pk + 1)})}.{signature}"  # the signature is for another
    assert _get_me(api_client, forged).status_code == 401

    clock.shift(301)  # past its exp: the remembered verification does not outlive the token
    response = _get_me(api_client, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"
