#!/usr/bin/env bash
# make image: builds the Dockerfile with buildah (or podman) and checks that
# the image runs `vgpu-extender --version` as a non-root user.
#   IMAGE=vgpu-extender:0.1.0 scripts/image.sh
# The Dockerfile starts FROM debian:12-slim. Where no image registry is
# reachable, that base is made locally: debootstrap (Debian's package mirror)
# into build/image/rootfs, committed as docker.io/library/debian:12-slim, and
# the build runs with --pull=never. Storage is vfs and isolation chroot, so
# neither overlayfs, user namespaces nor an OCI runtime are needed (root is).
# Not part of `make test`: a build takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-vgpu-extender:$(cat VERSION)}
BASE=docker.io/library/debian:12-slim
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
die() { echo "make image: $*" >&2; exit 1; }

if command -v buildah >/dev/null; then
  B=(buildah --storage-driver vfs)
  build() { "${B[@]}" bud --isolation chroot --pull=never --layers=false -t "$IMAGE" .; }
  run() { local c; c=$("${B[@]}" from --pull=never "$IMAGE"); "${B[@]}" run --isolation chroot "$c" -- "$@"; local rc=$?; "${B[@]}" rm "$c" >/dev/null; return $rc; }
  inspect_user() { "${B[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE"; }
elif command -v podman >/dev/null; then
  B=(podman --storage-driver vfs)
  build() { "${B[@]}" build --isolation chroot --pull=never -t "$IMAGE" .; }
  run() { "${B[@]}" run --rm "$IMAGE" "$@"; }
  inspect_user() { "${B[@]}" image inspect --format '{{.Config.User}}' "$IMAGE"; }
else
  die "needs buildah or podman: apt-get install buildah debootstrap (docker needs an engine, which this machine does not run)"
fi
[ "$(id -u)" -eq 0 ] || die "run as root: vfs storage with chroot isolation needs it here (rootless needs user namespaces and subuid ranges)"

# The base image, from a registry if one answers, else from debootstrap.
if ! "${B[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  if ! "${B[@]}" pull -q "$BASE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || die "no registry for $BASE and no debootstrap (apt-get install debootstrap)"
    root=build/image/rootfs
    if [ ! -x "$root/usr/bin/apt-get" ]; then
      echo "image: debootstrap bookworm into $root (no registry for $BASE)" >&2
      rm -rf "$root"; mkdir -p "$root"
      debootstrap --variant=minbase bookworm "$root" "$MIRROR" >build/image/debootstrap.log 2>&1 ||
        die "debootstrap failed, see build/image/debootstrap.log"
    fi
    # Slim it the way debian:12-slim is: no package lists or caches.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    c=$("${B[@]}" from scratch)
    "${B[@]}" copy "$c" "$root" / >/dev/null
    "${B[@]}" config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
    "${B[@]}" commit -q --rm "$c" "$BASE" >/dev/null
  fi
fi

build || die "the build of the Dockerfile failed (output above)"
user=$(inspect_user)
out=$(run /usr/local/bin/vgpu-extender --version) || die "the image does not run vgpu-extender --version"
uid=$(run /usr/bin/id -u)
run /usr/bin/curl --version >/dev/null || die "the image has no curl (the chart's helm test pod needs it)"
[ "$uid" != 0 ] || die "the image runs as root (USER is \"$user\")"
echo "image $IMAGE: $out, USER $user (uid $uid)"
