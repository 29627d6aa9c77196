#!/usr/bin/env bash
# Creates the registry-free base image emwin-base:bookworm: debootstraps a minimal Debian 12
# root from a Debian mirror and `docker import`s it. Cached twice: the image itself (skip
# when present) and the root tarball under $EMWIN_BASE_CACHE (re-import without debootstrap).
#   EMWIN_BASE_TAG      image tag            (default emwin-base:bookworm)
#   EMWIN_BASE_CACHE    tarball cache folder (default /var/cache/emwin-deploy)
#   EMWIN_DEBIAN_MIRROR Debian mirror        (default http://deb.debian.org/debian)
#   --force             rebuild even when cached
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail
tag="${EMWIN_BASE_TAG:-emwin-base:bookworm}"
cache="${EMWIN_BASE_CACHE:-/var/cache/emwin-deploy}"
mirror="${EMWIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${EMWIN_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
tarball="$cache/bookworm-minbase.tar"
force=0
[ "${1:-}" = "--force" ] && force=1

log() { printf '[base-image] %s\n' "$*" >&2; }

if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag present (cached)"
  exit 0
fi

if [ "$force" = 1 ] || [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  mkdir -p "$cache"
  root="$(mktemp -d "$cache/root.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  log "debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache/debootstrap.log" >&2
    exit 1
  }
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  # Container hygiene, as in the usual Debian images: no recommends, no cached .debs.
  cat >"$root/etc/apt/apt.conf.d/90emwin-container" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
EOF
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/* \
         "$root"/var/log/*.log "$root"/var/log/apt/*
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  trap - EXIT
fi

log "importing $tarball as $tag"
docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' "$tarball" "$tag" >/dev/null
log "$tag ready"
