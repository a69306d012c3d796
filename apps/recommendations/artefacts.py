"""A trained model's files in the `models` storage (settings.STORAGES: a directory locally, S3 in production),
one folder per version. No pickle anywhere, so loading a file cannot run code:

- factors.npz: the token vocabulary (a unicode array), the token factors and the regularisation (np.savez, read
  back with allow_pickle=False);
- ranker.txt: the LightGBM booster as text (model_to_string), absent for the fixed-blend fallback;
- meta.json: version, feature names, creation time, counts.
"""

import io
import json
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from apps.recommendations.training.collaborative import Factors
from apps.recommendations.training.model import FEATURES, LearnedModel

FACTORS_FILE = "factors.npz"
RANKER_FILE = "ranker.txt"
META_FILE = "meta.json"


class ArtefactError(Exception):
    """A model's files are missing or unreadable."""


def storage() -> Storage:
    return storages["models"]


def _write(store: Storage, name: str, content: bytes) -> None:
    saved = store.save(name, ContentFile(content))
    if saved != name:  # the storage renamed it: a folder of that version existed already
        store.delete(saved)
        raise ArtefactError(f"{name} exists already; versions are written once.")


def save(model: LearnedModel, folder: str) -> str:
    """Writes the model under `folder` (its version); returns the folder."""
    store = storage()
    buffer = io.BytesIO()
    np.savez(
        buffer,
        vocabulary=np.asarray(model.factors.vocabulary, dtype=np.str_),
        items=model.factors.items,
        regularization=np.array(model.factors.regularization),
    )
    _write(store, f"{folder}/{FACTORS_FILE}", buffer.getvalue())
    if model.booster is not None:
        _write(store, f"{folder}/{RANKER_FILE}", model.booster.model_to_string().encode())
    meta = {**model.meta, "version": model.version, "features": list(FEATURES), "ranker": _kind(model)}
    # Written last: a folder with meta.json is complete.
    _write(store, f"{folder}/{META_FILE}", json.dumps(meta, indent=2, sort_keys=True).encode())
    return folder


def _kind(model: LearnedModel) -> str:
    return "blend" if model.booster is None else "lambdarank"


def _read(store: Storage, name: str) -> bytes:
    try:
        with store.open(name, "rb") as handle:
            content = handle.read()
    except (FileNotFoundError, OSError) as error:
        raise ArtefactError(f"cannot read {name}: {error}") from error
    return content if isinstance(content, bytes) else str(content).encode()


def load(folder: str) -> LearnedModel:
    """The model saved under `folder`; ArtefactError when a file is missing or does not read as one."""
    store = storage()
    try:
        meta: dict[str, Any] = json.loads(_read(store, f"{folder}/{META_FILE}"))
        if list(meta.get("features", [])) != list(FEATURES):
            raise ArtefactError(f"{folder} was trained on other features: {meta.get('features')}")
        with np.load(io.BytesIO(_read(store, f"{folder}/{FACTORS_FILE}")), allow_pickle=False) as arrays:
            factors = Factors(
                vocabulary=np.asarray(arrays["vocabulary"], dtype=np.str_),
                items=np.asarray(arrays["items"], dtype=np.float64),
                regularization=float(arrays["regularization"]),
            )
        booster = None
        if meta.get("ranker") == "lambdarank":
            import lightgbm  # heavy import, only when a model is loaded

            booster = lightgbm.Booster(model_str=_read(store, f"{folder}/{RANKER_FILE}").decode())
    except ArtefactError:
        raise
    except Exception as error:
        raise ArtefactError(f"{folder} is corrupt or unreadable: {type(error).__name__}: {error}") from error
    if factors.items.ndim != 2 or factors.items.shape[0] != factors.vocabulary.size:
        raise ArtefactError(f"{folder} has factors that do not match its vocabulary")
    return LearnedModel(version=str(meta.get("version", folder)), factors=factors, booster=booster, meta=meta)
