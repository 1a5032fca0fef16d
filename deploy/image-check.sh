#!/usr/bin/env bash
# Build the container image without a registry and prove it works:
#   1. a Debian bookworm root filesystem with Python 3.11 is made with debootstrap (cached in var/image/);
#   2. it is imported as the local base image `localhost/monitor-base`;
#   3. the Dockerfile is built on it with `podman build --isolation=chroot` (both stages; docker
#      format, since the OCI format has no HEALTHCHECK and podman would drop it);
#   4. the image's filesystem is exported and `monitor run --once` runs inside it with chroot, as the
#      image's user, and must leave the seed digest in var/outbox/.
# Needs root, podman and debootstrap (installed from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
work="var/image"
mkdir -p "$work"

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need podman podman
need debootstrap debootstrap

if [ ! -f "$work/base.tar" ]; then
  echo "== debootstrap a Debian bookworm base with Python 3.11 (once; cached in $work/base.tar)"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$work/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  # The Dockerfile expects a `python` on PATH, as the official python images have.
  ln -sf /usr/bin/python3 "$work/rootfs/usr/local/bin/python"
  # Trust the certificate authorities this machine trusts (an egress proxy may re-sign PyPI).
  cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$work/rootfs" -cf "$work/base.tar.tmp" . && mv "$work/base.tar.tmp" "$work/base.tar"
  rm -rf "$work/rootfs"
fi

echo "== import the base image"
podman import "$work/base.tar" localhost/monitor-base:latest >/dev/null

echo "== build the image (podman build --isolation=chroot)"
podman build --isolation=chroot --format docker --build-arg BASE_IMAGE=localhost/monitor-base:latest -t localhost/monitor:check .
podman image inspect --format '{{.Config.Healthcheck.Test}}' localhost/monitor:check | grep -q "status --check" || {
  echo "image-check FAILED: the image has no HEALTHCHECK" >&2; exit 1; }

echo "== export the image filesystem and run 'monitor run --once' in it with chroot"
rm -rf "$work/export" && mkdir -p "$work/export"
container=$(podman create localhost/monitor:check)
podman export "$container" | tar -C "$work/export" -xf -
podman rm "$container" >/dev/null
cp /etc/resolv.conf "$work/export/etc/resolv.conf" 2>/dev/null || true
# The build stage's compiler and headers stay out of the runtime image.
for built in usr/bin/g++ usr/bin/pkg-config usr/include/unicode; do
  [ ! -e "$work/export/$built" ] || { echo "image-check FAILED: /$built is in the runtime image" >&2; exit 1; }
done
uid=$(chroot "$work/export" id -u monitor)
gid=$(chroot "$work/export" id -g monitor)
# The image's own environment (ENV lines), not this machine's.
mapfile -t image_env < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' localhost/monitor:check | grep .)
in_image() { chroot --userspec="$uid:$gid" "$work/export" /usr/bin/env -i "${image_env[@]}" HOME=/app /bin/sh -c "cd /app && $1"; }
in_image "monitor run --once"
in_image "monitor status --check"

count=$(ls "$work/export/app/var/outbox/"*.eml 2>/dev/null | wc -l)
if [ "$count" -ne 1 ]; then
  echo "image-check FAILED: expected 1 digest in the image's var/outbox, found $count" >&2
  exit 1
fi
grep -q "Bloody protests in Kazakhastan" "$work/export/app/var/outbox/"*.eml || {
  echo "image-check FAILED: the digest does not carry the seed story" >&2; exit 1; }
echo "image-check OK: the image ran a cycle as user monitor and wrote $(ls "$work/export/app/var/outbox/")"
