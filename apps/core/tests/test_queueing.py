"""enqueue against real brokers: the shared Redis, which takes the message without a result subscription, and a port
where nothing listens, which refuses it: retried by the policy, then reported (warning, counter, False), never
raised and never the result backend's 20-second reconnect."""

import base64
import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery, Task
from django.conf import settings
from kombu import Queue
from structlog.testing import capture_logs

from apps.core.queueing import PUBLISH_FAILURES, PUBLISH_RETRY_POLICY, enqueue
from scripts.support.network import LOOPBACK, free_port


def _task_on(broker_url: str, queue: str) -> Task:  # type: ignore[type-arg]
    app = Celery(f"queueing-test-{queue}", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(task_queues=[Queue(queue)], task_default_queue=queue)

    @app.task(name="tests.queueing.remember", shared=False)
    def remember(number: int) -> int:
        return number

    return remember


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"test-queueing-{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(name)


def _failures(task_name: str) -> float:
    return PUBLISH_FAILURES.labels(task=task_name)._value.get()


def test_a_published_task_is_on_its_queue_without_a_result_to_wait_for(queue: str) -> None:
    task = _task_on(settings.CELERY_BROKER_URL, queue)
    before = _failures(task.name)

    assert enqueue(task, 7) is True

    messages = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange(queue, 0, -1)
    assert len(messages) == 1
    message = json.loads(messages[0])
    assert message["headers"]["task"] == task.name
    assert message["headers"]["ignore_result"] is True
    assert json.loads(base64.b64decode(message["body"]))[0] == [7]
    assert _failures(task.name) == before


def test_an_unreachable_broker_is_retried_then_reported_not_raised(queue: str) -> None:
    task = _task_on(f"redis://{LOOPBACK}:{free_port()}/0", queue)  # nothing listens there
    before = _failures(task.name)

    with capture_logs() as logs:
        assert enqueue(task, 7) is False

    retries = [entry for entry in logs if entry["event"] == "task_publish_retrying"]
    assert [entry["retry"] for entry in retries] == list(range(1, PUBLISH_RETRY_POLICY["max_retries"] + 1))
    failed = [entry for entry in logs if entry["event"] == "task_publish_failed"]
    assert len(failed) == 1
    assert failed[0]["task"] == task.name
    assert failed[0]["args"] == [7]
    assert failed[0]["retries"] == PUBLISH_RETRY_POLICY["max_retries"]
    assert "refused" in failed[0]["error"].lower()
    assert _failures(task.name) == before + 1
