#!/usr/bin/env bash
# System packages mpsgpu's tests and demos need on Debian bookworm (amd64 or arm64), as root or
# through sudo. Safe to run again: it only installs what is missing.
#   mesa-vulkan-drivers from bookworm-backports: Mesa's lavapipe, a Vulkan driver on the CPU that
#     gives Dawn (the `webgpu` package, Node) a WebGPU adapter where there is no GPU; bookworm's own
#     Mesa 22 lacks a feature Dawn requires, backports has Mesa 25.
#   chromium: the browser tests (karma), WebGPU on its own SwiftShader.
# Node.js 20 (>= 20.19) and npm come from elsewhere; run `npm ci` afterwards.
set -euo pipefail

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

if ! grep -qs 'VERSION_CODENAME=bookworm' /etc/os-release; then
  echo "setup-debian.sh: this is for Debian bookworm; on other systems install a Vulkan driver with Mesa >= 24 and Chromium yourself" >&2
  exit 1
fi

installed() {  # installed <package> [version pattern]
  local version
  version=$(dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | sed -n 's/^install ok installed //p')
  [ -n "$version" ] && [[ "$version" == ${2:-*} ]]
}

if installed mesa-vulkan-drivers '*bpo12*' && installed chromium; then
  echo "setup-debian.sh: mesa-vulkan-drivers (bookworm-backports) and chromium are installed"
  exit 0
fi

if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' | "${SUDO[@]}" tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi

echo "setup-debian.sh: apt-get update"
"${SUDO[@]}" apt-get update -qq
echo "setup-debian.sh: installing mesa-vulkan-drivers (bookworm-backports) and chromium"
"${SUDO[@]}" apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
"${SUDO[@]}" apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends chromium >/dev/null
echo "setup-debian.sh: done ($(dpkg-query -W -f='mesa-vulkan-drivers ${Version}, ' mesa-vulkan-drivers)$(dpkg-query -W -f='chromium ${Version}' chromium))"
