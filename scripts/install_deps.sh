#!/usr/bin/env bash
# Install (idempotently) every Debian 12 package psfwi needs to build, test
# and plot. Safe to run again: packages already present are skipped quickly.
# Usage: scripts/install_deps.sh [--no-python]   (run as root, or with sudo)
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  libfftw3-dev libopenblas-dev liblapacke-dev libnetcdf-dev netcdf-bin
  libcmocka-dev libsegyio-dev libinih-dev libzip-dev
  libopenmpi-dev openmpi-bin
)
if [ "${1:-}" != "--no-python" ]; then
  pkgs+=(python3 python3-numpy python3-matplotlib python3-xarray python3-netcdf4)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install_deps: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
