"""The services and selectors on PostgreSQL: validation, the status machine, assignment and exposure logging,
and results counted by the database from the raw rows."""

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.analytics import selectors, services, statistics
from apps.analytics.models import Conversion, Experiment, ExperimentStatus, Exposure
from apps.analytics.tests.factories import HALVES, convert, expose, make_experiment
from apps.users import selectors as user_selectors
from apps.users import services as user_services
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 40}]}, "variants"),
        ({"variants": [{"key": "control", "weight": 50}, {"key": "control", "weight": 50}]}, "variants"),
        ({"variants": [{"key": "a", "weight": 50}, {"key": "b", "weight": 50}]}, "variants"),
        ({"variants": [{"key": "control", "weight": 100}]}, "variants"),
        ({"variants": [{"key": "control", "weight": 0}, {"key": "b", "weight": 100}]}, "variants"),
        ({"variants": [{"key": "control", "weight": "50"}, {"key": "b", "weight": 50}]}, "variants"),
        ({"primary_metric": {"event": "purchase"}}, "primary_metric"),
        ({"guardrails": [{"event": "dismiss"}, {"event": "dismiss"}]}, "guardrails"),
        ({"guardrails": [{"event": "save"}]}, "guardrails"),  # the primary metric's own type
        ({"key": "Not A Slug"}, "key"),
    ],
)
def test_creating_refuses_a_bad_design_naming_the_field(changes, field):
    values = {"key": "ranker-v2", "variants": HALVES, "primary_metric": {"event": "save"}, **changes}
    with pytest.raises(ValidationError) as caught:
        services.experiment_create(**values)
    assert field in caught.value.message_dict
    assert not Experiment.objects.exists()


def test_a_key_is_used_once():
    make_experiment("once")
    with pytest.raises(services.ExperimentKeyTaken):
        make_experiment("once")


def test_an_experiment_goes_draft_running_stopped_and_no_other_way():
    experiment = make_experiment()
    assert (experiment.status, experiment.started_at, experiment.stopped_at) == ("draft", None, None)
    with pytest.raises(services.TransitionRefused):
        services.experiment_stop(experiment=experiment)
    experiment = services.experiment_start(experiment=experiment)
    assert experiment.status == ExperimentStatus.RUNNING
    assert experiment.started_at is not None
    with pytest.raises(services.TransitionRefused, match="running; it cannot become running"):
        services.experiment_start(experiment=experiment)
    experiment = services.experiment_stop(experiment=experiment)
    assert experiment.status == ExperimentStatus.STOPPED
    assert experiment.stopped_at >= experiment.started_at
    for transition in (services.experiment_start, services.experiment_stop):
        with pytest.raises(services.TransitionRefused):
            transition(experiment=experiment)
    assert Experiment.objects.get().status == ExperimentStatus.STOPPED


@pytest.mark.parametrize("status", ["draft", "stopped"])
def test_a_draft_or_stopped_experiment_assigns_nothing_and_logs_nothing(status):
    experiment = make_experiment(status=status)
    assert services.experiment_variant(key=experiment.key, unit_id="user-1") is None
    assert services.experiment_assign(experiment=experiment, unit_id="user-2") is None
    assert not Exposure.objects.exists()


def test_an_unknown_experiment_assigns_nothing():
    assert services.experiment_variant(key="no-such-thing", unit_id="user-1") is None


@pytest.mark.parametrize("unit_id", ["", "a" * 65, "with space", "tab\t", "ünïcode"])
def test_unit_ids_are_1_to_64_printable_ascii_characters(unit_id):
    experiment = make_experiment(status="running")
    with pytest.raises(ValidationError) as caught:
        services.experiment_variant(key=experiment.key, unit_id=unit_id)
    assert "unit_id" in caught.value.message_dict


def test_the_exposure_is_logged_once_and_the_variant_sticks():
    experiment = make_experiment(status="running")
    first = services.experiment_variant(key=experiment.key, unit_id="anon-7f3a")
    exposed_at = Exposure.objects.get().exposed_at
    for _ in range(3):
        assert services.experiment_variant(key=experiment.key, unit_id="anon-7f3a") == first
    exposure = Exposure.objects.get()
    assert (exposure.unit_id, exposure.variant, exposure.exposed_at) == ("anon-7f3a", first, exposed_at)
    assert selectors.exposure_of(experiment=experiment, unit_id="anon-7f3a") == exposure


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_exposures_of_one_unit_log_one_row_and_fail_none():
    experiment = make_experiment(status="running")
    barrier = threading.Barrier(6)
    answers: list[str | None] = []
    errors: list[BaseException] = []

    def expose_once() -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(services.experiment_variant(key=experiment.key, unit_id="user-race"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=expose_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(answers)) == 1
    assert len(answers) == 6
    assert Exposure.objects.filter(unit_id="user-race").count() == 1


def test_results_count_a_conversion_only_at_or_after_the_exposure_and_before_the_stop(clock):
    experiment = make_experiment(status="running", guardrails=["dismiss"])
    now = timezone.now()
    variants = expose(experiment, ["u1", "u2", "u3", "u4", "u5"], at=now)
    convert(["u1"], "save", at=now - timedelta(minutes=1))  # before its exposure: not counted
    convert(["u2"], "save", at=now)  # at it: counted
    convert(["u3", "u3"], "save", at=now + timedelta(hours=1))  # twice: one converted unit
    convert(["u4"], "click", at=now + timedelta(hours=1))  # another type: not this metric
    convert(["u5"], "dismiss", at=now + timedelta(hours=2))  # the guardrail's
    convert(["stranger"], "save", at=now + timedelta(hours=1))  # never exposed
    clock.shift(timedelta(hours=3))
    results = selectors.experiment_results(experiment=experiment)
    expected = {"control": 0, "treatment": 0}
    for unit in ("u2", "u3"):
        expected[variants[unit]] += 1
    assert {v.key: v.conversions for v in results.primary.variants} == expected
    assert {v.key: v.conversions for v in results.guardrails[0].variants}[variants["u5"]] == 1
    assert sum(v.units for v in results.primary.variants) == results.units == 5

    services.experiment_stop(experiment=experiment)
    convert(["u1", "u4"], "save", at=timezone.now() + timedelta(minutes=1))  # after the stop: not counted
    stopped = selectors.experiment_results(experiment=Experiment.objects.get())
    assert {v.key: v.conversions for v in stopped.primary.variants} == expected


def test_results_of_20000_exposures_over_a_week_match_the_counts_and_the_statistics():
    experiment = make_experiment(status="running")
    rng = np.random.default_rng(5)
    rates = {"control": 0.10, "treatment": 0.13}
    logged: list[tuple[str, str, datetime]] = []  # (variant, "units" or "conversions", when)
    for day in range(7):
        at = experiment.started_at + timedelta(days=day, hours=1)
        variants = expose(experiment, [f"u{day}-{n}" for n in range(2800 + 100 * day)], at=at)
        logged += [(variant, "units", at) for variant in variants.values()]
        converted = [unit for unit, variant in variants.items() if rng.random() < rates[variant]]
        # Half convert two hours later, half a day later (the last day's too: still counted while running).
        for index, unit in enumerate(converted):
            when = at + (timedelta(hours=2) if index % 2 == 0 else timedelta(days=1))
            convert([unit], at=when)
            logged.append((variants[unit], "conversions", when))

    results = selectors.experiment_results(experiment=experiment)
    # The same counts by UTC day, added up here: the looks of the sequential p-value.
    days = sorted({when.astimezone(UTC).date() for _, _, when in logged})
    daily = {(v, kind): np.zeros(len(days), dtype=np.int64) for v in rates for kind in ("units", "conversions")}
    for variant, kind, when in logged:
        daily[(variant, kind)][days.index(when.astimezone(UTC).date())] += 1
    cumulative = {series: np.cumsum(counts) for series, counts in daily.items()}
    assert results.looks == len(days)
    assert results.units == 2800 * 7 + 100 * 21
    control, treatment = results.primary.variants
    for result in (control, treatment):
        assert result.units == cumulative[(result.key, "units")][-1]
        assert result.conversions == cumulative[(result.key, "conversions")][-1]
    expected = statistics.compare(
        control_units=control.units, control_conversions=control.conversions,
        units=treatment.units, conversions=treatment.conversions,
    )  # fmt: skip
    assert (treatment.p_value, treatment.lift, treatment.lift_ci_low) == (
        expected.p_value,
        expected.lift,
        expected.lift_ci_low,
    )
    sequential = statistics.sequential_p_values(
        cumulative[("control", "units")], cumulative[("control", "conversions")],
        cumulative[("treatment", "units")], cumulative[("treatment", "conversions")],
    )  # fmt: skip
    assert treatment.sequential_p_value == pytest.approx(sequential[-1], rel=1e-12)
    assert control.p_value is None
    assert control.lift is None
    assert control.sequential_p_value is None


def test_a_draft_has_empty_results():
    results = selectors.experiment_results(experiment=make_experiment())
    assert results.units == 0
    assert results.looks == 0
    assert results.srm_p_value is None
    assert not results.srm_flag
    assert [(v.units, v.rate, v.p_value) for v in results.primary.variants] == [(0, None, None), (0, None, None)]


def test_the_sample_ratio_mismatch_is_flagged():
    experiment = make_experiment(status="running")
    Exposure.objects.bulk_create(
        [Exposure(experiment=experiment, unit_id=f"c{n}", variant="control") for n in range(600)]
        + [Exposure(experiment=experiment, unit_id=f"t{n}", variant="treatment") for n in range(400)]
    )
    results = selectors.experiment_results(experiment=experiment)
    assert results.srm_p_value is not None
    assert results.srm_p_value < 0.001
    assert results.srm_flag


def test_a_persons_exposures_and_conversions_are_in_their_export_and_go_with_their_account():
    person = UserFactory()
    experiment = make_experiment(status="running")
    variant = services.experiment_variant(key=experiment.key, unit_id=str(person.pk))
    services.conversion_record(unit_id=str(person.pk), event_type="save")
    services.experiment_variant(key=experiment.key, unit_id="someone-else")
    export = user_selectors.user_export(user=person)["experiments"]
    assert [(e["experiment"], e["variant"]) for e in export["exposures"]] == [(experiment.key, variant)]
    assert [c["type"] for c in export["conversions"]] == ["save"]
    user_services.user_delete(user=person)
    assert list(Exposure.objects.values_list("unit_id", flat=True)) == ["someone-else"]
    assert not Conversion.objects.exists()
