#!/usr/bin/env bash
# One command: install everything the tests need (Python dev tools, Node Yjs clients, Chromium),
# check formatting, lint and types, then run the whole suite on SQLite and on PostgreSQL.
# Usage: ./test.sh [--quick] [extra pytest args]
#   --quick   lint, types and the suite without `slow`/`browser` tests, on SQLite only
# PPA_TEST_BACKENDS="sqlite postgresql" by default; the tests that reach no database run with the
# first backend only. The suite runs on PPA_TEST_WORKERS
# pytest-xdist workers (default: the number of cores, at least 2, at most 4; 0 runs in-process);
# each worker has its own database, server and data directory.
set -euo pipefail
cd "$(dirname "$0")"

backends="${PPA_TEST_BACKENDS:-sqlite postgresql}"
profile=()
if [ "${1:-}" = "--quick" ]; then
  shift
  backends="sqlite"
  profile=(-m "not slow and not browser")
fi
cores="$(nproc 2>/dev/null || echo 2)"
workers="${PPA_TEST_WORKERS:-$((cores < 2 ? 2 : cores > 4 ? 4 : cores))}"

. scripts/bootstrap.sh
bootstrap_python dev
bootstrap_web
bootstrap_test_tools

PY_DIRS="server editor versions exports tests bench"
.venv/bin/ruff format --check ${PY_DIRS}
.venv/bin/ruff check ${PY_DIRS}
.venv/bin/mypy ${PY_DIRS}
scripts/lint-web.sh

status=0
first=1
for backend in ${backends}; do
  echo "=== tests on ${backend} (${workers} workers) ==="
  start="${SECONDS}"
  # After the first backend, only the tests that reach a database run again (tests/conftest.py
  # decides from their fixtures and helpers): the others cannot give another result.
  PPA_TEST_DB="${backend}" PPA_TEST_DB_DEPENDENT_ONLY="$((1 - first))" \
    .venv/bin/python -m pytest -n "${workers}" "${profile[@]}" "$@" || status=$?
  first=0
  echo "=== ${backend}: $((SECONDS - start)) s ==="
done
exit "${status}"
