"""How allauth.mfa fits this project: secrets encrypted at rest, our WebAuthn relying party, an inline QR code."""

from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port

from apps.core import encryption


class MFAAdapter(DefaultMFAAdapter):
    # allauth keeps the TOTP secret and the recovery-code seed in a JSON column and hands them through these two
    # hooks; in the clear, a database dump alone would let anyone mint codes.
    def encrypt(self, text: str) -> str:
        return encryption.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return encryption.decrypt(encrypted_text)

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        request: HttpRequest = context.request  # allauth keeps the request being served here
        return {"id": webauthn_rp_id(request=request), "name": settings.WEBAUTHN_RP_NAME}

    def build_totp_svg(self, url: str) -> str:
        # Our page draws the SVG inline (no data: URL for the Content-Security-Policy to allow), and an XML
        # declaration has no place inside an HTML document.
        svg: str = super().build_totp_svg(url)
        if svg.startswith("<?xml"):
            svg = svg[svg.index("?>") + 2 :].lstrip()
        return svg


def webauthn_rp_id(*, request: HttpRequest) -> str:
    """The WebAuthn relying-party id: WEBAUTHN_RP_ID when set, else the request's host (one of ALLOWED_HOSTS,
    since get_host() refuses any other), without its port."""
    configured: str = settings.WEBAUTHN_RP_ID
    if configured:
        return configured
    domain, _port = split_domain_port(request.get_host())
    return domain
