"""The S3 storages of settings.STORAGES: media ("default") and trained models ("models") in the media bucket.

One builder for both, so the two prefixes of the bucket are reached the same way: private objects, SigV4 signed URLs
that expire, never overwritten, encrypted with the data key. Plain Python, so the settings and the tests share it.
"""

from typing import Any

# SigV4 (the only signature S3 accepts from new clients) refuses a presigned URL that lives longer than 7 days.
SIGV4_MAX_EXPIRE_SECONDS = 7 * 24 * 3600


def s3_storage(
    *,
    bucket: str,
    location: str,
    region: str,
    url_expire_seconds: int,
    kms_key_id: str = "",
    endpoint_url: str = "",
) -> dict[str, Any]:
    """A STORAGES entry for django-storages' S3Storage under `location` ("media", "models") in `bucket`."""
    if not bucket:
        raise ValueError("an S3 storage needs a bucket")
    if not 1 <= url_expire_seconds <= SIGV4_MAX_EXPIRE_SECONDS:
        raise ValueError(f"a signed URL lives 1 to {SIGV4_MAX_EXPIRE_SECONDS} s, not {url_expire_seconds}")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": location,
        # The bucket enforces object ownership (ACLs disabled): sending any ACL would be refused, and objects stay
        # private to the account, so every read from outside goes through a signed URL.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": url_expire_seconds,
        "signature_version": "s3v4",
        # A second file of the same name gets a new name instead of replacing one that may be in use (a serving model,
        # an upload a page still links to).
        "file_overwrite": False,
        "region_name": region,
        # Only an emulator (moto in the tests) sets an endpoint; None is AWS's own for the region.
        "endpoint_url": endpoint_url or None,
    }
    if kms_key_id:
        # The bucket's default encryption is already this key (infra/ansible s3 role); asking for it on every upload
        # keeps objects under the data key even if that default were changed, and S3 refuses the upload rather than
        # store it otherwise when the role may not use the key. Without a key id the bucket's default applies:
        # ServerSideEncryption alone would pick the AWS-managed aws/s3 key instead.
        options["object_parameters"] = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
