#!/usr/bin/python
# Weekend Planner's own module: neither amazon.aws nor community.aws manages IAM OpenID Connect providers, which
# EKS needs for service-account roles (IRSA).
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Ansible's module format puts DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_oidc_provider
short_description: Create, update or delete an IAM OpenID Connect identity provider
description:
  - Finds the provider by its issuer URL; creates it, or brings its client ids, thumbprints and tags in line, only
    when they differ.
  - Not part of the C(group/aws) module_defaults group, so O(region) and O(endpoint_url) are parameters.
version_added: "1.0.0"
author: Weekend Planner maintainers
options:
  url:
    description:
      - Issuer URL (C(https://...)), such as an EKS cluster's C(identity.oidc.issuer).
      - Required with O(state=present); with O(state=absent) either O(url) or O(match_tags) selects the providers.
    type: str
  match_tags:
    description:
      - With O(state=absent) and no O(url), delete every provider carrying all these tags (for example once the
        cluster, and with it the issuer URL, is gone).
    type: dict
  state:
    description: Whether the provider should exist.
    type: str
    choices: [present, absent]
    default: present
  client_ids:
    description: Audiences allowed to use the provider.
    type: list
    elements: str
    default: [sts.amazonaws.com]
  thumbprints:
    description: SHA-1 fingerprints of the issuer's top intermediate or root CA certificate.
    type: list
    elements: str
    default: []
  tags:
    description: Tags of the provider (others are removed).
    type: dict
notes:
  - Supports check mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: OIDC provider of the cluster
  iam_oidc_provider:
    url: "{{ cluster.identity.oidc.issuer }}"
    thumbprints: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
    tags: {Cluster: weekend-planner-staging}
    region: us-west-2

- name: Delete the providers of that cluster, by tag
  iam_oidc_provider:
    match_tags: {Cluster: weekend-planner-staging}
    state: absent
    region: us-west-2
"""

RETURN = r"""
arn:
  description: ARN of the provider (empty when absent).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
issuer:
  description: The issuer without its scheme, as IAM conditions name it (C(<issuer>:sub)).
  returned: always
  type: str
  sample: oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
deleted:
  description: ARNs of the providers deleted by O(match_tags).
  returned: when O(state=absent) with O(match_tags)
  type: list
  elements: str
"""

from typing import Any

from ansible.module_utils.planner_aws import AWS_ERRORS, aws_client
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def find(client: Any, issuer: str) -> str | None:
    for provider in client.list_open_id_connect_providers(aws_retry=True)["OpenIDConnectProviderList"]:
        if provider["Arn"].split(":oidc-provider/", 1)[-1] == issuer:
            return provider["Arn"]
    return None


def tagged(client: Any, match_tags: dict[str, Any]) -> list[str]:
    wanted = {k: str(v) for k, v in match_tags.items()}
    arns = []
    for provider in client.list_open_id_connect_providers(aws_retry=True)["OpenIDConnectProviderList"]:
        tags = client.get_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=provider["Arn"]).get(
            "Tags", []
        )
        present = {t["Key"]: t["Value"] for t in tags}
        if all(present.get(k) == v for k, v in wanted.items()):
            arns.append(provider["Arn"])
    return arns


def delete_tagged(module: AnsibleAWSModule, client: Any) -> None:
    if not module.params["match_tags"]:
        module.fail_json(msg="state=absent needs url or match_tags")
    arns = tagged(client, module.params["match_tags"])
    if not module.check_mode:
        for arn in arns:
            client.delete_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
    module.exit_json(changed=bool(arns), arn="", issuer="", deleted=arns)


def main() -> None:
    argument_spec = {
        "url": {"type": "str"},
        "match_tags": {"type": "dict"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "client_ids": {"type": "list", "elements": "str", "default": ["sts.amazonaws.com"]},
        "thumbprints": {"type": "list", "elements": "str", "default": []},
        "tags": {"type": "dict"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ("url",))]
    )
    p = module.params
    # IAM is global: any region signs the calls, us-east-1 when none is configured anywhere.
    client = aws_client(module, "iam", region=module.region or "us-east-1")
    if p["state"] == "absent" and not p["url"]:
        try:
            delete_tagged(module, client)
        except AWS_ERRORS as err:
            module.fail_json_aws(err, msg="IAM call failed")
    if not p["url"].startswith("https://"):
        module.fail_json(msg=f"url must start with https:// (got {p['url']})")
    issuer = p["url"].removeprefix("https://").rstrip("/")
    try:
        arn = find(client, issuer)
        if p["state"] == "absent":
            if arn and not module.check_mode:
                client.delete_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
            module.exit_json(changed=bool(arn), arn="", issuer=issuer)

        tags = [{"Key": k, "Value": str(v)} for k, v in (p["tags"] or {}).items()]
        if arn is None:
            if module.check_mode:
                module.exit_json(changed=True, arn="", issuer=issuer)
            request: dict[str, Any] = {"Url": p["url"], "ClientIDList": p["client_ids"]}
            if p["thumbprints"]:
                request["ThumbprintList"] = p["thumbprints"]
            if tags:
                request["Tags"] = tags
            arn = client.create_open_id_connect_provider(aws_retry=True, **request)["OpenIDConnectProviderArn"]
            module.exit_json(changed=True, arn=arn, issuer=issuer)

        current = client.get_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
        add_ids = sorted(set(p["client_ids"]) - set(current.get("ClientIDList", [])))
        drop_ids = sorted(set(current.get("ClientIDList", [])) - set(p["client_ids"]))
        # Thumbprints are compared only when given: IAM may keep its own for issuers it trusts through its CA library.
        thumbprints_differ = bool(p["thumbprints"]) and sorted(p["thumbprints"]) != sorted(
            current.get("ThumbprintList", [])
        )
        current_tags = {t["Key"]: t["Value"] for t in current.get("Tags", [])}
        wanted_tags = {t["Key"]: t["Value"] for t in tags}
        tags_differ = p["tags"] is not None and current_tags != wanted_tags
        changed = bool(add_ids or drop_ids or thumbprints_differ or tags_differ)
        if changed and not module.check_mode:
            for client_id in add_ids:
                client.add_client_id_to_open_id_connect_provider(
                    aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id
                )
            for client_id in drop_ids:
                client.remove_client_id_from_open_id_connect_provider(
                    aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id
                )
            if thumbprints_differ:
                client.update_open_id_connect_provider_thumbprint(
                    aws_retry=True, OpenIDConnectProviderArn=arn, ThumbprintList=p["thumbprints"]
                )
            if tags_differ:
                stale = [k for k in current_tags if k not in wanted_tags]
                if stale:
                    client.untag_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn, TagKeys=stale)
                if tags:
                    client.tag_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn, Tags=tags)
        module.exit_json(changed=changed, arn=arn, issuer=issuer)
    except AWS_ERRORS as err:
        module.fail_json_aws(err, msg="IAM call failed")


if __name__ == "__main__":
    main()
