# Tools whose pins clash with the app's get virtualenvs of their own under .venvs/, each from its lock file.
# Re-lock with `make lock-tools` after editing requirements/tools/*.in.
TOOLS_DIR := .venvs
ANSIBLE_VENV := $(TOOLS_DIR)/ansible
CHECKOV_VENV := $(TOOLS_DIR)/checkov
AUDIT_VENV := $(TOOLS_DIR)/audit
LOAD_VENV := $(TOOLS_DIR)/load

.PHONY: tools lock-tools

$(TOOLS_DIR)/%/.installed: requirements/tools/%.txt | $(BIN)/uv
	$(BIN)/uv venv --quiet --allow-existing --python $(PYTHON) $(TOOLS_DIR)/$*
	$(BIN)/uv pip install --quiet --python $(TOOLS_DIR)/$*/bin/python -r $<
	@touch $@

tools: $(ANSIBLE_VENV)/.installed $(CHECKOV_VENV)/.installed

lock-tools: | $(BIN)/uv
	for f in requirements/tools/*.in; do \
	  $(BIN)/uv pip compile $$f --python-version 3.11 -q --generate-hashes -o $${f%.in}.txt || exit 1; \
	done

# Supply chain: the locked dependencies against the Python vulnerability database (not part of `make test`).
#   make audit   pip-audit, from its own virtualenv (.venvs/audit, requirements/tools/audit.txt), over
#                requirements/base.txt and dev.txt exactly as locked: hashed pins, so nothing is resolved
#                (--disable-pip) and every package must be looked up (--strict).
# pip-audit asks PyPI's JSON API for each pinned release's advisories. A package index or proxy that has no
# such data answers "not found" for every package; pip-audit then reports "No known vulnerabilities found"
# while auditing nothing. --strict turns that into a failure, and this target says what happened: it is an
# environment without vulnerability data, not a clean bill of health. CI runs `make audit` against PyPI.
AUDIT_REPORT := .cache/audit/pip-audit.txt

.PHONY: audit

audit: $(AUDIT_VENV)/.installed
	@mkdir -p $(dir $(AUDIT_REPORT))
	@echo "pip-audit: requirements/base.txt and requirements/dev.txt (locked, hashed)"
	@status=0; $(AUDIT_VENV)/bin/pip-audit --strict --disable-pip --progress-spinner off \
	  -r requirements/base.txt -r requirements/dev.txt >$(AUDIT_REPORT) 2>&1 || status=$$?; \
	if [ $$status -eq 0 ]; then cat $(AUDIT_REPORT); exit 0; fi; \
	if grep -qE 'Dependency not found on PyPI and could not be audited|ConnectionError|Max retries exceeded|Failed to resolve|ServiceError' $(AUDIT_REPORT); then \
	  tail -n 5 $(AUDIT_REPORT) >&2; \
	  echo "" >&2; \
	  echo "make audit: NOT AUDITED. pip-audit could not get vulnerability data for the locked packages from" >&2; \
	  echo "  its service (here the package index or proxy has none, or the service is out of reach), so no" >&2; \
	  echo "  package was checked. This is not a pass. The GitHub workflow's security job runs 'make audit'" >&2; \
	  echo "  against PyPI; run it where PyPI's JSON API is reachable. Full output: $(AUDIT_REPORT)" >&2; \
	  exit 2; \
	fi; \
	cat $(AUDIT_REPORT); \
	echo "make audit: known vulnerabilities in the locked dependencies (above): upgrade them (make lock)." >&2; \
	exit $$status
