# Helpers shared by Weekend Planner's own AWS modules (playbooks/library), on top of amazon.aws's module_utils.
# Modules import it as ansible.module_utils.planner_aws (ansible.cfg's module_utils, or the folder next to the
# playbooks).
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # AnsibleAWSModule reports the missing library
    BotoCoreError = ClientError = Exception  # type: ignore[assignment,misc]

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

AWS_ERRORS = (BotoCoreError, ClientError)
POLL_SECONDS = 15


def aws_client(module: AnsibleAWSModule, service: str, **params: Any) -> Any:
    """A client from the module's connection options whose calls made with aws_retry=True retry throttling.

    params override those options, e.g. region= for the other side of a cross-region call.
    """
    return module.client(service, retry_decorator=AWSRetry.jittered_backoff(), **params)


def wait_until_available(
    module: AnsibleAWSModule,
    resource: dict[str, Any],
    refresh: Callable[[], dict[str, Any] | None],
    status_key: str,
    name: str,
    failed: tuple[str, ...] = ("failed",),
) -> dict[str, Any]:
    """With the module's wait=true, poll refresh() until resource[status_key] is "available" or wait_timeout passes.

    A failed status ends the task; so does the timeout. refresh() returning None keeps the last answer.
    """
    deadline = time.monotonic() + module.params["wait_timeout"]
    while module.params["wait"] and resource[status_key] != "available":
        if resource[status_key] in failed:
            module.fail_json(msg=f"{name} is {resource[status_key]}")
        if time.monotonic() > deadline:
            module.fail_json(msg=f"timed out waiting for {name} (status {resource[status_key]})")
        time.sleep(POLL_SECONDS)
        resource = refresh() or resource
    return resource
