"""The `models` storage (settings.STORAGES) that holds trained recommendation models: a directory outside production,
and in production the `models/` prefix of the media bucket, here a real moto server (S3) on loopback."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from conftest import ROOT
from scripts.support.moto import MotoServerError, moto_server
from scripts.support.production_env import throwaway_production_secrets

REGION = "us-west-2"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# Saves the same name twice through the production settings' models storage and prints what it did.
SAVE_TWICE = """
import json
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import storages
store = storages["models"]
first = store.save("als/factors.npz", ContentFile(b"first"))
second = store.save("als/factors.npz", ContentFile(b"second"))
with store.open(first) as handle:
    body = handle.read().decode()
print(json.dumps({"backend": type(store).__name__, "first": first, "second": second, "body": body}))
"""


def test_outside_production_models_are_files_in_a_directory_of_the_run() -> None:
    store = storages["models"]
    assert isinstance(store, FileSystemStorage)
    assert Path(store.location) == Path(os.environ["TEST_MODELS_DIR"])
    name = store.save(f"check/{uuid.uuid4().hex}.bin", ContentFile(b"model"))
    try:
        assert (Path(store.location) / name).read_bytes() == b"model"
    finally:
        store.delete(name)


@pytest.mark.real_clock
def test_in_production_models_go_under_models_in_the_media_bucket(clean_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        with moto_server(tmp_path / "moto.log") as moto_url:
            s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_url, **CREDENTIALS)
            bucket = f"wp-media-{uuid.uuid4().hex[:12]}"
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            env = clean_env(
                **{
                    **throwaway_production_secrets(),  # it names a made-up bucket: this one replaces it
                    "DJANGO_SETTINGS_MODULE": "planner.settings",
                    "VAR_DIR": str(tmp_path),
                    "MEDIA_BUCKET": bucket,
                    "AWS_REGION": REGION,
                    "AWS_ENDPOINT_URL": moto_url,
                    "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
                    "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
                    "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                }
            )
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "TEST_MODELS_DIR"):
                env.pop(name, None)
            done = subprocess.run(
                [sys.executable, "-c", SAVE_TWICE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
            saved = json.loads(done.stdout.strip().splitlines()[-1])
            keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    except MotoServerError as error:
        pytest.fail(str(error))

    assert saved["backend"] == "S3Storage"
    assert saved["first"] == "als/factors.npz"
    # file_overwrite is off: a second model of the same name never replaces the one that may be serving.
    assert saved["second"] != saved["first"]
    assert saved["second"].startswith("als/factors")
    assert saved["body"] == "first"
    assert keys == sorted(f"models/{name}" for name in (saved["first"], saved["second"]))
    assert not (tmp_path / "models").exists(), "nothing is written to the pod's disk"
