# The container image: built for real with buildah (no Docker engine here) and checked inside.
#   make hadolint    lint docker/Dockerfile
#   make wheelhouse  the locked wheels for the build context (CI calls it before its own build too)
#   make image       base from debootstrap (cached), wheelhouse, `buildah bud`, then scripts/check_image.py,
#                    which runs every role inside the image against the PostgreSQL and Redis below
IMAGE ?= localhost/weekend-planner:dev
IMAGE_BASE ?= localhost/weekend-planner-base:bookworm
IMAGE_CACHE := .cache/image
IMAGE_WHEELS := $(IMAGE_CACHE)/wheels
IMAGE_REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE_SOURCE := $(or $(shell git remote get-url origin 2>/dev/null),unknown)
# The roles run against these in the check (chroot isolation shares the host's network); empty skips that.
IMAGE_CHECK_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/weekend_planner_image
IMAGE_CHECK_REDIS_URL ?= redis://127.0.0.1:6379/11
# pg_dump's major must be at least the server's (RDS runs 16). The PostgreSQL project's apt repository, the
# only source of 16 for bookworm, is unreachable here, so local builds use Debian's 15 (the local server's);
# the GitHub image job sets 16.
IMAGE_POSTGRES_CLIENT_MAJOR ?= 15
# Wheels for the image's platform (bookworm's glibc 2.36, CPython 3.11), whatever the host is.
WHEEL_PLATFORMS := --platform manylinux_2_36_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64

.PHONY: hadolint wheelhouse image image-tools

hadolint: install-dev
	$(BIN)/hadolint docker/Dockerfile

# Every file is checked against the lock's hashes on download and again by `pip install --require-hashes`.
$(IMAGE_WHEELS)/.complete: requirements/base.txt | install-dev
	rm -rf $(IMAGE_WHEELS)
	$(BIN)/pip download --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary :all: \
	  $(WHEEL_PLATFORMS) --python-version 3.11 --implementation cp --abi cp311 \
	  -r requirements/base.txt -d $(IMAGE_WHEELS) 2>&1 | grep -v 'is ignored: it is neither a file nor a directory' \
	  ; test $${PIPESTATUS[0]} = 0
	@touch $@

wheelhouse: $(IMAGE_WHEELS)/.complete

# buildah builds and runs (chroot isolation, no daemon); debootstrap makes the base and verifies it with Debian's
# keyring (not installed on Ubuntu, where CI runs). Skipped when present.
image-tools:
	@missing=""; \
	for tool in buildah debootstrap; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -s /usr/share/keyrings/debian-archive-keyring.gpg ] || missing="$$missing debian-archive-keyring"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian's$$missing for make image"; \
	  if [ "$$(id -u)" != 0 ]; then echo "needs root: sudo apt-get install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@if [ "$$(id -u)" != 0 ]; then echo "make image runs buildah as root (chroot isolation, debootstrap)" >&2; exit 1; fi

image: hadolint image-tools wheelhouse
	docker/build-base.sh $(IMAGE_BASE) $(IMAGE_CACHE)
	@set -e; previous=$$(buildah images --quiet --no-trunc $(IMAGE) 2>/dev/null || true); \
	created=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	: "buildah's layer cache ignores build-arg changes in LABEL, so the per-build labels are also given here"; \
	set -x; buildah bud --quiet --isolation chroot --format docker --layers \
	  --build-arg BASE_IMAGE=$(IMAGE_BASE) \
	  --build-arg POSTGRES_CLIENT_MAJOR=$(IMAGE_POSTGRES_CLIENT_MAJOR) \
	  --build-arg REVISION=$(IMAGE_REVISION) \
	  --build-arg SOURCE=$(IMAGE_SOURCE) \
	  --build-arg CREATED=$$created \
	  --label org.opencontainers.image.revision=$(IMAGE_REVISION) \
	  --label org.opencontainers.image.source=$(IMAGE_SOURCE) \
	  --label org.opencontainers.image.created=$$created \
	  -t $(IMAGE) -f docker/Dockerfile .; set +x; \
	if [ -n "$$previous" ] && [ "$$previous" != "$$(buildah images --quiet --no-trunc $(IMAGE))" ]; then \
	  buildah rmi "$$previous" >/dev/null 2>&1 || true; \
	fi
	$(BIN)/python scripts/check_image.py $(IMAGE) --revision $(IMAGE_REVISION) \
	  --database-url "$(IMAGE_CHECK_DATABASE_URL)" --redis-url "$(IMAGE_CHECK_REDIS_URL)"
