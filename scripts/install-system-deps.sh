#!/usr/bin/env bash
# Installs the Debian packages vnm needs (Open vSwitch, traffic tools, peer controllers) when missing.
# Idempotent: does nothing when everything is already there.
set -euo pipefail
PKGS=(openvswitch-switch openvswitch-testcontroller iperf3 iputils-ping iputils-arping ethtool iproute2
      dnsmasq-base dnsperf python3-os-ken)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "vnm: system packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "vnm: missing system packages: ${missing[*]}" >&2
  echo "vnm: run as root, or install them yourself: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "vnm: missing system packages (${missing[*]}) and no apt-get here: install them with your package manager" >&2
  exit 1
fi
echo "vnm: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts the system Open vSwitch on install; vnm runs its own private daemons and needs none.
