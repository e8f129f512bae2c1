#!/usr/bin/env bash
# Set up what the test suite needs on a fresh machine, then run it. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium for the dashboard tests: Debian's package (Playwright's own browser download is
# not reachable here). Only root can install it; without it the browser tests skip and say why.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: chromium could not be installed; browser tests will be skipped"
fi

# PostgreSQL: start the machine's server if it is installed but not answering. Without one,
# the PostgreSQL variants of the database tests skip and say why.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi

# RabbitMQ and Redis, for the task-queue tests (FORECASTS_QUEUE_URL): start each if it is
# installed but not answering on its port. Never fatal: without a broker those tests say why.
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v rabbitmq-server >/dev/null 2>&1 && ! port_answers 5672; then
  rabbitmq-server -detached >/dev/null 2>&1 || echo "note: rabbitmq-server did not start"
  # -detached returns at once; the broker takes a few seconds to listen.
  for _ in $(seq 60); do port_answers 5672 && break; sleep 1; done
fi
if command -v redis-server >/dev/null 2>&1 && ! port_answers 6379; then
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 \
    || echo "note: redis-server did not start"
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[dev]'
exec .venv/bin/python -m pytest "$@"
