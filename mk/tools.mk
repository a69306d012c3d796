# Tools whose pins clash with the app's get virtualenvs of their own under .venvs/, each from its lock file.
# Re-lock with `make lock-tools` after editing requirements/tools/*.in.
TOOLS_DIR := .venvs
ANSIBLE_VENV := $(TOOLS_DIR)/ansible
CHECKOV_VENV := $(TOOLS_DIR)/checkov

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
