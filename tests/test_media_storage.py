"""Media (settings.STORAGES["default"]): local files without MEDIA_BUCKET (`make run`, the tests), and with it
(staging, production) private objects under media/ in the media bucket, encrypted with the data key and read from
outside through signed URLs that expire. S3 and KMS are a real moto server on loopback.

What moto (5.2) does not check, and so what these tests check another way: it accepts any URL that carries a
signature, whatever its age or validity (moto/s3/responses.py only looks for "Signature=" in the URL), and it stores
an object under a KMS key id without asking KMS whether the key exists. A signed URL's expiry is therefore checked
against the SigV4 rules S3 applies (AWS's "Authenticating Requests: Using Query Parameters"), with a verifier of our
own below that shares no code with botocore, on a frozen clock.
"""

import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import httpx
import pytest
import time_machine
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.test import override_settings

from conftest import ROOT
from planner.storage import s3_storage
from scripts.support.moto import MotoServerError, moto_server
from scripts.support.production_env import throwaway_production_secrets

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Every test here talks to a moto server, a process of its own that keeps the real clock.
pytestmark = pytest.mark.real_clock

REGION: Final = "us-west-2"
ACCESS_KEY, SECRET_KEY = "testing-media-access", "testing-media-secret"
EXPIRE_SECONDS = 600
PHOTO = b"\xff\xd8\xff\xe0 not much of a JPEG, but bytes all the same \x00\x01\x02"

# Prints the production settings' media and models storages, as the pods get them.
PRINT_STORAGES = """
import json
import django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
print(json.dumps({
    "settings": {name: settings.STORAGES[name] for name in ("default", "models")},
    "backends": {name: type(storages[name]).__name__ for name in ("default", "models")},
}, default=str))
"""


@dataclass
class MediaBucket:
    endpoint: str
    name: str
    kms_key_arn: str
    s3: "S3Client"  # the bucket as the operator (not the app) sees it


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
            yield endpoint
    except MotoServerError as error:
        pytest.fail(str(error))


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The app finds credentials through boto3's chain, as in a pod; here from the environment, and nothing of this
    machine's own AWS configuration."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def media_bucket(moto_endpoint: str, aws_credentials: None) -> MediaBucket:
    """A bucket made the way infra/ansible's s3 role makes the media bucket: private (public access blocked, ACLs
    disabled) and encrypted by default with the data key (a KMS key), bucket key on."""
    kms = boto3.client("kms", region_name=REGION, endpoint_url=moto_endpoint)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)
    key_arn = kms.create_key(Description="weekend-planner data key (test)")["KeyMetadata"]["Arn"]
    name = f"wp-media-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return MediaBucket(endpoint=moto_endpoint, name=name, kms_key_arn=key_arn, s3=s3)


def production_media(bucket: MediaBucket, **overrides: object) -> dict[str, dict[str, object]]:
    """STORAGES as the production settings build it for this bucket (test_production_settings_... checks that they
    do), with the emulator's endpoint."""
    options: dict[str, Any] = {
        "bucket": bucket.name,
        "region": REGION,
        "url_expire_seconds": EXPIRE_SECONDS,
        "kms_key_id": bucket.kms_key_arn,
        "endpoint_url": bucket.endpoint,
        **overrides,
    }
    return {
        **settings.STORAGES,
        "default": s3_storage(location="media", **options),
        "models": s3_storage(location="models", **options),
    }


# --- Where media go ------------------------------------------------------------------------------------------------


def test_without_a_media_bucket_media_are_local_files(tmp_path: Path) -> None:
    assert settings.MEDIA_BUCKET == "", "the tests keep local files unless a test opts in"
    store = storages["default"]
    assert isinstance(store, FileSystemStorage)
    assert Path(store.location) == Path(settings.MEDIA_ROOT) == Path(settings.VAR_DIR) / "media"
    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "default": {
                **settings.STORAGES["default"],
                "OPTIONS": {"location": tmp_path, "base_url": settings.MEDIA_URL},
            },
        }
    ):
        local = storages["default"]
        name = local.save("uploads/photo.jpg", ContentFile(PHOTO))
        assert (tmp_path / name).read_bytes() == PHOTO
        assert local.url(name) == f"/media/{name}"


def test_production_settings_put_media_and_models_in_the_media_bucket(clean_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = "arn:aws:kms:us-west-2:123456789012:key/00000000-1111-2222-3333-444444444444"
    env = clean_env(
        **{
            **throwaway_production_secrets(),
            "DJANGO_SETTINGS_MODULE": "planner.settings",
            "VAR_DIR": str(tmp_path),
            "MEDIA_BUCKET": "weekend-planner-staging-media",
            "MEDIA_KMS_KEY_ID": key,
            "MEDIA_URL_EXPIRE_SECONDS": "300",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", PRINT_STORAGES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])

    expected = {
        name: s3_storage(
            bucket="weekend-planner-staging-media",
            location=location,
            region=REGION,
            url_expire_seconds=300,
            kms_key_id=key,
            endpoint_url="http://127.0.0.1:9",
        )
        for name, location in (("default", "media"), ("models", "models"))
    }
    assert printed["settings"] == expected
    assert printed["backends"] == {"default": "S3Storage", "models": "S3Storage"}
    options = printed["settings"]["default"]["OPTIONS"]
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
    assert options["object_parameters"] == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
    assert not (tmp_path / "media").exists()
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MEDIA_BUCKET": ""}, "MEDIA_BUCKET must be set when DJANGO_ENV=production"),
        ({"MEDIA_URL_EXPIRE_SECONDS": "604801"}, "a signed URL lives 1 to 604800 s"),
    ],
)
def test_production_refuses_to_start_without_a_usable_media_bucket(clean_env, change, message) -> None:  # type: ignore[no-untyped-def]
    env = clean_env(**{**throwaway_production_secrets(), "DJANGO_SETTINGS_MODULE": "planner.settings", **change})
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert message in done.stderr


# --- The round trip through S3 and KMS ---------------------------------------------------------------------------


def test_media_round_trip_through_the_private_kms_encrypted_bucket(media_bucket: MediaBucket) -> None:
    with override_settings(STORAGES=production_media(media_bucket)):
        store = storages["default"]
        assert type(store).__name__ == "S3Storage"
        name = store.save("uploads/photo.jpg", ContentFile(PHOTO))
        assert name == "uploads/photo.jpg"
        # file_overwrite is off: a second upload of the same name never replaces the one pages may link to.
        second = store.save("uploads/photo.jpg", ContentFile(b"another photo"))
        assert second != name
        assert second.startswith("uploads/photo")

        with store.open(name) as handle:
            assert handle.read() == PHOTO
        assert store.exists(name)
        assert store.size(name) == len(PHOTO)

        head = media_bucket.s3.head_object(Bucket=media_bucket.name, Key=f"media/{name}")
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == media_bucket.kms_key_arn

        # Private: the object's plain address answers nobody without a signature.
        plain = f"{media_bucket.endpoint}/{media_bucket.name}/media/{name}"
        assert httpx.get(plain, timeout=10).status_code == 403
        # The signed URL the app hands out downloads it with no credentials at all.
        url = store.url(name)
        assert url.startswith(plain + "?")
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert query["X-Amz-Expires"] == str(EXPIRE_SECONDS)
        downloaded = httpx.get(url, timeout=10)
        assert downloaded.status_code == 200
        assert downloaded.content == PHOTO

        store.delete(name)
        store.delete(second)
        assert not store.exists(name)
        listed = media_bucket.s3.list_objects_v2(Bucket=media_bucket.name).get("Contents", [])
        assert listed == []


def test_models_share_the_bucket_under_their_own_prefix(media_bucket: MediaBucket) -> None:
    with override_settings(STORAGES=production_media(media_bucket)):
        media = storages["default"].save("uploads/a.bin", ContentFile(b"media"))
        model = storages["models"].save("v1/factors.npz", ContentFile(b"model"))
    keys = sorted(item["Key"] for item in media_bucket.s3.list_objects_v2(Bucket=media_bucket.name)["Contents"])
    assert keys == [f"media/{media}", f"models/{model}"]
    for key in keys:
        head = media_bucket.s3.head_object(Bucket=media_bucket.name, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", media_bucket.kms_key_arn)


def test_without_a_key_id_the_bucket_default_key_encrypts(media_bucket: MediaBucket) -> None:
    # MEDIA_KMS_KEY_ID empty: nothing is asked per upload, and the bucket's default (the data key) applies.
    with override_settings(STORAGES=production_media(media_bucket, kms_key_id="")):
        name = storages["default"].save("uploads/b.bin", ContentFile(b"bytes"))
    head = media_bucket.s3.head_object(Bucket=media_bucket.name, Key=f"media/{name}")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", media_bucket.kms_key_arn)


# --- Signed URLs expire ---------------------------------------------------------------------------------------------


class RefusedURL(Exception):
    pass


def check_presigned_get(url: str, *, secret_key: str, now: datetime) -> None:
    """Raises RefusedURL unless S3 would serve this SigV4 query-signed GET at `now`: the signature over the method,
    path, every query parameter but the signature, and the host is right, and now is within X-Amz-Expires seconds of
    X-Amz-Date (at most 7 days). Written from AWS's description of query-string authentication, not from botocore."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    signature = params.pop("X-Amz-Signature")
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256" or params["X-Amz-SignedHeaders"] != "host":
        raise RefusedURL("not a SigV4 URL signed over the host alone")
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = int(params["X-Amz-Expires"])
    if not 1 <= expires <= 604800:
        raise RefusedURL("X-Amz-Expires out of range")

    def encode(text: str) -> str:
        return quote(text, safe="-_.~")

    canonical_query = "&".join(
        f"{encode(k)}={encode(v)}" for k, v in sorted((k, v) for k, v in query if k != "X-Amz-Signature")
    )
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    _access_key, day, region, service, terminal = params["X-Amz-Credential"].split("/")
    scope = f"{day}/{region}/{service}/{terminal}"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
        raise RefusedURL("SignatureDoesNotMatch")
    if now < signed_at - timedelta(minutes=15):
        raise RefusedURL("Request is not yet valid")
    if now > signed_at + timedelta(seconds=expires):
        raise RefusedURL("Request has expired")


def test_a_signed_url_expires_after_the_configured_seconds(media_bucket: MediaBucket) -> None:
    signed_at = datetime(2026, 6, 17, 10, 0, 0, tzinfo=UTC)
    with override_settings(STORAGES=production_media(media_bucket)):
        store = storages["default"]
        name = store.save("uploads/expiring.jpg", ContentFile(PHOTO))
        # Signing is local (no request): on a frozen clock the URL's lifetime starts at exactly this moment.
        with time_machine.travel(signed_at, tick=False):
            url = store.url(name)
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["X-Amz-Date"] == "20260617T100000Z"
    assert params["X-Amz-Expires"] == str(EXPIRE_SECONDS)
    assert params["X-Amz-Credential"] == f"{ACCESS_KEY}/20260617/{REGION}/s3/aws4_request"

    check_presigned_get(url, secret_key=SECRET_KEY, now=signed_at)
    check_presigned_get(url, secret_key=SECRET_KEY, now=signed_at + timedelta(seconds=EXPIRE_SECONDS))
    with pytest.raises(RefusedURL, match="Request has expired"):
        check_presigned_get(url, secret_key=SECRET_KEY, now=signed_at + timedelta(seconds=EXPIRE_SECONDS + 1))
    # The lifetime is part of what is signed: a URL stretched by hand no longer verifies.
    stretched = url.replace(f"X-Amz-Expires={EXPIRE_SECONDS}", "X-Amz-Expires=604800")
    with pytest.raises(RefusedURL, match="SignatureDoesNotMatch"):
        check_presigned_get(stretched, secret_key=SECRET_KEY, now=signed_at + timedelta(days=1))
    # And the verifier is no pushover: another secret does not verify either.
    with pytest.raises(RefusedURL, match="SignatureDoesNotMatch"):
        check_presigned_get(url, secret_key=SECRET_KEY + "x", now=signed_at)
