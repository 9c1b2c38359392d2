#!/usr/bin/env bash
# Installs the Debian packages mqlive's tests use, only those missing.
# Usage: scripts/debian-packages.sh   (as root, or with sudo available)
set -euo pipefail

# command that must exist -> Debian package that provides it
declare -A NEEDED=(
  [mosquitto_sub]=mosquitto-clients
  [mosquitto]=mosquitto
  [Xvfb]=xvfb
  [xdotool]=xdotool
  [chromium]=chromium
  [openssl]=openssl
  [redis-server]=redis-server
  [redis-sentinel]=redis-sentinel
  [python3]=python3
)
# Python module that Debian's own python3 must import -> Debian package that provides it
declare -A PYTHON_MODULES=(
  [paho.mqtt]=python3-paho-mqtt
)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
# /usr/bin/python3, not the first python3 on PATH: Debian's packages install for Debian's Python only.
for module in "${!PYTHON_MODULES[@]}"; do
  /usr/bin/python3 -c "import $module" >/dev/null 2>&1 || missing+=("${PYTHON_MODULES[$module]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "mqlive: the tests need these Debian packages: ${missing[*]}; this machine has no apt-get, install them another way." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "mqlive: the tests need: ${missing[*]}. Run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "mqlive: installing Debian packages for the tests: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
