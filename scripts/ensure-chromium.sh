#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (the approval page,
# test/e2e/approvals-browser.test.ts, driven by playwright-core): installs it with apt-get when it
# is missing. Run by scripts/setup-test-env.sh (the README's test command and .ci/run).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

echo "chromium: not installed, installing chromium with apt-get"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium: apt-get did not install /usr/bin/chromium" >&2
  exit 1
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
