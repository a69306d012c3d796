#!/bin/sh
# Makes the local base image (Debian bookworm with Python 3.11, tini, libgomp1 and the PostgreSQL client) from
# debootstrap, for machines without a registry to pull python:3.11-slim-bookworm from. The root filesystem
# tarball is cached under $CACHE_DIR, keyed by this script's content, so only the first run pays for it.
#   usage: docker/build-base.sh IMAGE_NAME CACHE_DIR
set -eu

image=$1
cache=$2
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
packages=python3,python3-venv,ca-certificates,tini,libgomp1,postgresql-client
# The cache key is this script itself: changing the suite, the packages or the recipe makes a new base.
key=$(sha256sum "$0" | cut -c1-12)
tarball="$cache/base-$suite-$key.tar"
keyed_image="$image-$key"

if buildah inspect --type image "$keyed_image" >/dev/null 2>&1; then
	buildah tag "$keyed_image" "$image"
	echo "base image $image is up to date ($keyed_image)"
	exit 0
fi

# debootstrap mounts /proc and /sys inside the new root; after a failed run they may still be there.
discard_root() {
	awk -v root="$(realpath -m "$1")/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r mounted; do umount -l "$mounted"; done
	rm -rf --one-file-system "$1"
}

mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
	root="$cache/rootfs.tmp"
	discard_root "$root"
	echo "debootstrap $suite into $root (first run only)"
	# As debian:bookworm-slim does: no manuals, documentation (copyright files stay) or translations.
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<EXCLUDES
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
EXCLUDES
	debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
	# Security and point-release fixes, as python:3.11-slim-bookworm would carry them.
	cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
SOURCES
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq >/dev/null && apt-get clean' ||
		{ echo "apt-get upgrade inside the new root failed" >&2; exit 1; }
	# Files unpacked before dpkg read the excludes (debootstrap's first stage) go the same way.
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/*
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/* "$root/etc/resolv.conf"
	: >"$root/etc/resolv.conf"
	tar --numeric-owner --xattrs -C "$root" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	discard_root "$root"
	# Bases of earlier recipes are not used again.
	find "$cache" -maxdepth 1 -name "base-$suite-*.tar" ! -name "${tarball##*/}" -delete
fi

container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
mountpoint=$(buildah mount "$container")
tar --numeric-owner --xattrs -C "$mountpoint" -xf "$tarball"
buildah umount "$container" >/dev/null
buildah config \
	--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--env LANG=C.UTF-8 \
	--cmd /bin/bash \
	--label org.opencontainers.image.title="weekend-planner-base" \
	--label org.opencontainers.image.description="debootstrap $suite minbase with $packages" \
	"$container"
buildah commit --quiet --rm "$container" "$keyed_image" >/dev/null
trap - EXIT
buildah tag "$keyed_image" "$image"
# Bases of earlier recipes are not used again.
buildah images --format '{{.Name}}:{{.Tag}}' | grep -F "$image-" | grep -vxF "$keyed_image" |
	while read -r old; do buildah rmi "$old" >/dev/null 2>&1 || true; done
echo "base image $image built ($keyed_image)"
