#!/usr/bin/env bash
# Installs and starts what the tests need on a fresh Debian/Ubuntu machine: the README's test command
# and .ci/run run it before `npm test` (which itself only checks, scripts/check-test-env.sh).
# Redis (installed with apt-get when missing, started on 127.0.0.1:6379), Debian's Chromium for the
# browser test, openssl and python3. Idempotent: installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
updated=0
apt_install() {
  if [ "$updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

for tool in openssl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool: not installed, installing it with apt-get"
    apt_install "$tool"
  fi
done

bash scripts/ensure-redis.sh
bash scripts/ensure-chromium.sh
bash scripts/check-test-env.sh
