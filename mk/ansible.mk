# Ansible for AWS (infra/ansible). The playbooks run against moto in tests/infra/ (pytest).
ANSIBLE_DIR := infra/ansible
MOTO_PORT ?= 5055
# tools.mk sets it too, but mk/*.mk are read in name order and prerequisites expand at once.
ANSIBLE_VENV ?= .venvs/ansible

.PHONY: ansible-lint ansible-moto moto-up moto-down

ansible-lint: $(ANSIBLE_VENV)/.installed
	cd $(ANSIBLE_DIR) && PATH="$(CURDIR)/$(ANSIBLE_VENV)/bin:$$PATH" ../../$(ANSIBLE_VENV)/bin/ansible-lint --offline

# A moto server for manual runs, left running on 127.0.0.1:$(MOTO_PORT) so the resources can be read back and
# site.yml run again (`make moto-down` stops it). The AWS-managed IAM policies are loaded: AWS always has them,
# and the RDS monitoring and EKS roles attach them.
MOTO_PID := .cache/moto-$(MOTO_PORT).pid

moto-up: $(ANSIBLE_VENV)/.installed
	@if curl -sf -o /dev/null http://127.0.0.1:$(MOTO_PORT)/moto-api/; then \
	  echo "moto already answers on 127.0.0.1:$(MOTO_PORT)"; \
	else \
	  mkdir -p .cache; \
	  MOTO_IAM_LOAD_MANAGED_POLICIES=true nohup $(ANSIBLE_VENV)/bin/moto_server -H 127.0.0.1 -p $(MOTO_PORT) \
	    >.cache/moto-$(MOTO_PORT).log 2>&1 & echo $$! >$(MOTO_PID); \
	  for _ in $$(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:$(MOTO_PORT)/moto-api/ && break; sleep 0.2; done; \
	  echo "moto runs on 127.0.0.1:$(MOTO_PORT) (pid $$(cat $(MOTO_PID)); make moto-down stops it)"; \
	fi

moto-down:
	@if [ -f $(MOTO_PID) ]; then kill $$(cat $(MOTO_PID)) 2>/dev/null || true; rm -f $(MOTO_PID); echo "moto stopped"; fi

# site.yml for staging against that moto server. Run it twice: the second run reports changed=0.
# ARGS passes more options, e.g. ARGS="-e planner_state=absent".
ansible-moto: moto-up
	cd $(ANSIBLE_DIR) && env -u AWS_PROFILE AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	  AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-west-2 \
	  ../../$(ANSIBLE_VENV)/bin/ansible-playbook -i inventories/staging playbooks/site.yml \
	  --vault-password-file tests/vault-password -e aws_endpoint_url=http://127.0.0.1:$(MOTO_PORT) \
	  -e ansible_python_interpreter=$(CURDIR)/$(ANSIBLE_VENV)/bin/python $(ARGS)

# The AWS Load Balancer Controller's upstream IAM policy (roles/eks/files/), fetched again from npm (aws-cdk-lib ships
# the controller's docs/install/iam_policy.json per release) at the versions and integrity pinned in
# scripts/vendor_lbc_policy.py. Needs npm and the network; not part of `make test`.
.PHONY: vendor-lbc-policy
vendor-lbc-policy:
	$(PYTHON) -m scripts.vendor_lbc_policy
