# Ansible for AWS (infra/ansible). The playbooks run against moto in tests/infra/ (pytest).
ANSIBLE_DIR := infra/ansible
MOTO_PORT ?= 5055
# tools.mk sets it too, but mk/*.mk are read in name order and prerequisites expand at once.
ANSIBLE_VENV ?= .venvs/ansible

.PHONY: ansible-lint ansible-moto

ansible-lint: $(ANSIBLE_VENV)/.installed
	cd $(ANSIBLE_DIR) && PATH="$(CURDIR)/$(ANSIBLE_VENV)/bin:$$PATH" ../../$(ANSIBLE_VENV)/bin/ansible-lint --offline

# Manual run of site.yml for staging against a throw-away moto server on 127.0.0.1:$(MOTO_PORT) (with the
# AWS-managed IAM policies loaded: the RDS monitoring and EKS roles attach them).
# ARGS passes more options, e.g. ARGS="-e planner_state=absent".
ansible-moto: $(ANSIBLE_VENV)/.installed
	@MOTO_IAM_LOAD_MANAGED_POLICIES=true $(ANSIBLE_VENV)/bin/moto_server -H 127.0.0.1 -p $(MOTO_PORT) >/tmp/moto-$(MOTO_PORT).log 2>&1 & moto=$$!; \
	trap 'kill $$moto' EXIT; sleep 2; \
	cd $(ANSIBLE_DIR) && env -u AWS_PROFILE AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	  AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-west-2 \
	  ../../$(ANSIBLE_VENV)/bin/ansible-playbook -i inventories/staging playbooks/site.yml \
	  --vault-password-file tests/vault-password -e aws_endpoint_url=http://127.0.0.1:$(MOTO_PORT) \
	  -e ansible_python_interpreter=$(CURDIR)/$(ANSIBLE_VENV)/bin/python $(ARGS)
