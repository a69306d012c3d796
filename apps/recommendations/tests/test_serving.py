"""Serving the promoted model: artefacts without pickle, a process picking up a new version without a restart,
and surviving a missing or corrupt artefact."""

import io
import json
from collections.abc import Iterator

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from structlog.testing import capture_logs

from apps.recommendations import artefacts, serving
from apps.recommendations.models import ModelStatus, ModelVersion
from apps.recommendations.rankers.learned import LearnedRanker
from apps.recommendations.tests.factories import ManualClock
from apps.recommendations.tests.factories_training import tiny_model
from apps.recommendations.training import collaborative, ltr, rows
from apps.recommendations.training.model import FEATURES, LearnedModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManualClock]:
    """serving's interval clock (time-machine, which moves the wall clock of every test, leaves it alone)."""
    fake = ManualClock()
    monkeypatch.setattr(serving, "clock", fake)
    serving.forget()
    yield fake
    serving.forget()


def promote(version: str, *, artefact: str | None = None) -> ModelVersion:
    ModelVersion.objects.filter(is_current=True).update(is_current=False)
    return ModelVersion.objects.create(
        version=version, status=ModelStatus.PROMOTED, is_current=True, artefact=artefact or version
    )


def booster_model(version: str) -> LearnedModel:
    """A model with a real (small) LambdaRank booster, for the round trip."""
    rng = np.random.default_rng(0)
    matrix = rng.random((400, len(FEATURES)))
    labels = (matrix[:, 0] > 0.7).astype(np.int64)
    data = rows.LtrSet(matrix=matrix, labels=labels, sizes=np.full(40, 10, dtype=np.int64))
    model = tiny_model(version)
    model.booster = ltr.fit(data, seed=0)
    return model


def test_an_artefact_round_trips_without_pickle():
    model = booster_model("v-round")
    artefacts.save(model, "v-round")
    store = storages["models"]
    _, files = store.listdir("v-round")
    assert sorted(files) == ["factors.npz", "meta.json", "ranker.txt"]
    with store.open("v-round/factors.npz", "rb") as handle:
        content = handle.read()
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        assert npz["vocabulary"].dtype.kind == "U"
        assert npz["items"].shape == model.factors.items.shape
    with store.open("v-round/meta.json", "rb") as handle:
        meta = json.loads(handle.read())
    assert meta["features"] == list(FEATURES)
    assert meta["ranker"] == "lambdarank"
    loaded = artefacts.load("v-round")
    assert loaded.version == "v-round"
    probe = np.random.default_rng(1).random((5, len(FEATURES)))
    assert np.allclose(loaded.score_matrix(probe), model.score_matrix(probe))
    assert np.allclose(loaded.factors.items, model.factors.items)


def test_a_version_is_written_once():
    artefacts.save(tiny_model("v-once"), "v-once")
    with pytest.raises(artefacts.ArtefactError, match="exists already"):
        artefacts.save(tiny_model("v-once"), "v-once")


def test_missing_and_corrupt_artefacts_raise_a_clear_error():
    with pytest.raises(artefacts.ArtefactError):
        artefacts.load("never-saved")
    artefacts.save(tiny_model("v-bad"), "v-bad")
    store = storages["models"]
    store.delete("v-bad/factors.npz")
    store.save("v-bad/factors.npz", ContentFile(b"not a zip file"))
    with pytest.raises(artefacts.ArtefactError, match="corrupt"):
        artefacts.load("v-bad")


def test_serving_loads_the_promoted_model_and_picks_up_a_new_one_without_restart(monotonic):
    assert serving.current_model() is None  # nothing promoted: the caller falls back
    artefacts.save(tiny_model("v-a"), "v-a")
    promote("v-a")
    monotonic.now += serving.CHECK_SECONDS
    first = serving.current_model()
    assert first is not None
    assert first.version == "v-a"
    artefacts.save(tiny_model("v-b", seed=1), "v-b")
    promote("v-b")
    monotonic.now += 1
    assert serving.current_model() is first  # asked again only every CHECK_SECONDS
    monotonic.now += serving.CHECK_SECONDS
    second = serving.current_model()
    assert second is not None
    assert second.version == "v-b"
    assert serving.current_model() is second  # kept, not reloaded


def test_serving_survives_a_missing_artefact_logs_it_and_retries_only_after_a_minute(monotonic, monkeypatch):
    promote("v-missing")
    loads = []
    real_load = artefacts.load
    monkeypatch.setattr(artefacts, "load", lambda folder: loads.append(folder) or real_load(folder))
    with capture_logs() as logs:
        assert serving.current_model() is None
    assert [(log["event"], log["version"], log["log_level"]) for log in logs] == [
        ("recommendation_model_unavailable", "v-missing", "warning")
    ]
    assert "v-missing" in logs[0]["error"]
    monotonic.now += serving.CHECK_SECONDS * 2
    assert serving.current_model() is None
    assert loads == ["v-missing"]  # not retried within RETRY_SECONDS
    artefacts.save(tiny_model("v-missing"), "v-missing")  # the files arrive (a slow copy)
    monotonic.now += serving.RETRY_SECONDS
    model = serving.current_model()
    assert model is not None
    assert model.version == "v-missing"
    assert loads == ["v-missing", "v-missing"]


def test_serving_survives_a_corrupt_artefact(monotonic):
    artefacts.save(tiny_model("v-corrupt"), "v-corrupt")
    store = storages["models"]
    store.delete("v-corrupt/meta.json")
    store.save("v-corrupt/meta.json", ContentFile(b"{not json"))
    promote("v-corrupt")
    with capture_logs() as logs:
        assert serving.current_model() is None
    assert logs[0]["event"] == "recommendation_model_unavailable"
    assert "corrupt" in logs[0]["error"]


def test_the_learned_ranker_serves_the_promoted_model(monotonic):
    from apps.recommendations.context import HistoryItem, Person
    from apps.recommendations.tests.factories_training import NOW

    artefacts.save(tiny_model("v-rank"), "v-rank")
    promote("v-rank")
    candidates = _candidates()
    history = tuple(HistoryItem(1, "save", NOW, "music", None, ("category:music",)) for _ in range(6))
    person = Person(user_id=1, home=None, history=history)
    ranking = LearnedRanker().rank(person, candidates, now=NOW)
    assert ranking.model_version == "v-rank"
    assert ranking.scores.shape == (2,)
    model = serving.current_model()
    assert model is not None
    vector = collaborative.fold_in(model.factors, {"category:music": 12.0})  # type: ignore[attr-defined]
    assert vector.shape == (4,)


def _candidates():
    from datetime import UTC, datetime

    from apps.recommendations import selectors

    start = datetime(2026, 6, 20, 17, tzinfo=UTC)
    rows_ = [
        (1, "music", None, ["Jazz"], start, None, False, 2.0, 10, False, start),
        (2, "film", None, [], start, None, False, 5.0, None, True, start),
    ]
    return selectors.candidates_from_rows(rows_, tz="Europe/Berlin", popularity={})


def test_with_a_corrupt_promoted_model_the_api_falls_back_and_ready_stays_up(monotonic, client_for, client):
    from datetime import timedelta

    from apps.recommendations.tests.factories import event, person, track, weekend_moment

    concert = event("Jazz night")
    someone = person(interests=["music"])
    for kind in ("click", "click", "save", "save", "plan"):  # enough history for `learned`
        track(someone, kind, event(f"Past {kind}", start=weekend_moment() - timedelta(days=7)))
    artefacts.save(tiny_model("v-broken"), "v-broken")
    storages["models"].delete("v-broken/factors.npz")
    storages["models"].save("v-broken/factors.npz", ContentFile(b"not numpy"))
    promote("v-broken")

    body = client_for(someone).get("/api/v1/recommendations").json()

    assert body["ranker"] == "content"
    assert body["model_version"] is None
    assert [item["event"]["id"] for item in body["results"]] == [concert.pk]
    assert client.get("/ready").status_code == 200
