#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379 for test/redis and test/e2e: starts
# redis-server if it is installed, installs it with apt-get first if it is not. Run by
# scripts/setup-test-env.sh (the README's test command and .ci/run), never by `npm test` itself.
set -euo pipefail

ping() {
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

if ping; then
  echo "redis: 127.0.0.1:6379 answers"
  exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis: not installed, installing redis-server with apt-get"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

echo "redis: starting redis-server on 127.0.0.1:6379"
mkdir -p /tmp/medsoc-redis
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir /tmp/medsoc-redis --logfile /tmp/medsoc-redis/redis.log

for _ in $(seq 1 50); do
  if ping; then
    echo "redis: ready"
    exit 0
  fi
  sleep 0.2
done
echo "redis: did not start; see /tmp/medsoc-redis/redis.log" >&2
exit 1
