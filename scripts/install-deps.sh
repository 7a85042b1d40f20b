#!/usr/bin/env bash
# Installs every Debian 12 package osmig needs to build, test and benchmark.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config git
  libsolv-dev libsolvext-dev librpm-dev libcurl4-openssl-dev libssl-dev libzstd-dev
  libjansson-dev libcmocka-dev libsqlite3-dev libarchive-dev
  libhivex-dev libwim-dev ntfs-3g-dev libfuse-dev libhivex-bin libwin-hivex-perl libfdisk-dev libmicrohttpd-dev libpq-dev libyaml-dev zlib1g-dev
  rpm createrepo-c dnf gnupg zstd rsync acl attr python3 curl time sqlite3
  qemu-utils wimtools ntfs-3g gdisk dosfstools mtools postgresql tzdata
  lighttpd wrk
  nodejs   # tests/api/sdk (the official Alibaba Cloud SDK) and tests/dashboard (puppeteer-core), from npm
  chromium # tests/dashboard: the dashboard in a real headless browser
  qemu-system-x86 qemu-guest-agent syslinux syslinux-common busybox-static cpio
  groff-base
  mmdebstrap # tests/cli: the .deb installed in a clean Debian 12 root
  zsh        # tests/cli: the zsh completion run by a real zsh
  prometheus # promtool: tests/api/cases/metrics_operator_alerts.json checks GET /metrics with it
  iproute2 iputils-ping # tests/vm/netcase.py: network namespaces, bridges, pings on them
)
# npm: Debian's package, unless npm came with another nodejs build already.
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
