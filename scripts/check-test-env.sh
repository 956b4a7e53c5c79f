#!/usr/bin/env bash
# Checks (never installs) what the tests need and says how to get what is missing. Run by `npm test`
# (pretest) and by `npm run test:<group>`; installing is scripts/setup-test-env.sh's job (the README's
# test command and .ci/run run it first).
#
#   bash scripts/check-test-env.sh [reference] [redis] [chromium] [openssl] [python3]   (none: all)
#
# reference  the shared reference data (MEDSOC_REFERENCE_DIR, default ../shared/reference/data)
# redis      a Redis answering on 127.0.0.1:6379 (test/redis, test/e2e)
# chromium   /usr/bin/chromium for the browser test: a note only, that file skips without it
#            unless MEDSOC_REQUIRE_CHROMIUM=1 (CI), then it is an error here too
# openssl    makes the TLS test certificates (test/loopback, test/redis)
# python3    runs the Splunk alert action (test/e2e)
set -uo pipefail
cd "$(dirname "$0")/.."

checks=("$@")
if [ ${#checks[@]} -eq 0 ]; then checks=(reference redis chromium openssl python3); fi
failed=0
fail() {
  printf 'test set-up: %s\n' "$1" >&2
  shift
  if [ $# -gt 0 ]; then printf '%s\n' "$@" >&2; fi
  failed=1
}

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG
  else
    # No redis-cli: speak RESP over bash's /dev/tcp.
    exec 3<>/dev/tcp/127.0.0.1/6379 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    local reply
    read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ "$reply" == +PONG* ]]
  fi
}

for check in "${checks[@]}"; do
  case "$check" in
    reference)
      dir="${MEDSOC_REFERENCE_DIR:-$(cd .. && pwd)/shared/reference/data}"
      if [ ! -d "$dir/ecs" ] || [ ! -d "$dir/elastic/fixtures" ]; then
        fail "the reference data is not at $dir (it needs ecs/ and elastic/fixtures/ inside)." \
          "  The tests compare against it: put the shared reference data at ../shared/reference/data" \
          "  beside this checkout, or point at it with MEDSOC_REFERENCE_DIR=/path/to/reference/data."
      fi
      ;;
    redis)
      if ! redis_answers; then
        if command -v redis-server >/dev/null 2>&1; then
          how="start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''"
        else
          how="install and start it: sudo apt-get install redis-server (or run bash scripts/setup-test-env.sh)"
        fi
        fail "no Redis answers on 127.0.0.1:6379 (test/redis and test/e2e need one)." \
          "  $how" \
          "  bash scripts/setup-test-env.sh does both; npm run test:unit and test:loopback need no Redis."
      fi
      ;;
    chromium)
      chromium="${MEDSOC_CHROMIUM:-/usr/bin/chromium}"
      if [ ! -x "$chromium" ]; then
        if [ "${MEDSOC_REQUIRE_CHROMIUM:-}" = "1" ]; then
          fail "$chromium is missing and MEDSOC_REQUIRE_CHROMIUM=1: install it with bash scripts/setup-test-env.sh."
        else
          echo "test set-up: $chromium is missing, so test/e2e/approvals-browser.test.ts will be skipped" \
            "(bash scripts/setup-test-env.sh installs it)." >&2
        fi
      fi
      ;;
    openssl | python3)
      if ! command -v "$check" >/dev/null 2>&1; then
        fail "$check is not installed: sudo apt-get install $check (or run bash scripts/setup-test-env.sh)."
      fi
      ;;
    *)
      fail "unknown check '$check' (reference, redis, chromium, openssl, python3)"
      ;;
  esac
done
exit "$failed"
