#!/usr/bin/env bash
# One command: install everything the tests need (Python dev tools, Node Yjs clients, Chromium),
# check formatting, lint and types, then run the whole suite on SQLite and on PostgreSQL.
# Usage: ./test.sh [--quick] [extra pytest args]
#   --quick   lint, types and the suite without `slow`/`browser` tests, on SQLite only
# PPA_TEST_BACKENDS="sqlite postgresql" by default; the tests that reach no database run with the
# first backend only. The backends' runs go side by side (their waits on servers, browsers and
# processes overlap; the first one's output live, the others' after it); PPA_TEST_SEQUENTIAL=1
# runs them one after the other. Each runs on PPA_TEST_WORKERS pytest-xdist workers (default:
# the number of cores, at least 2, at most 4; 0 runs in-process); each worker has its own
# database, server and data directory; beside other backends the first one has one more worker.
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

run_backend() {  # backend, 1 if it is the first one, number of workers, extra pytest args...
  local backend="$1" first="$2" workers="$3"
  shift 3
  echo "=== tests on ${backend} (${workers} workers) ==="
  local start="${SECONDS}" code=0
  # After the first backend, only the tests that reach a database run again (tests/conftest.py
  # decides from their fixtures and helpers): the others cannot give another result.
  PPA_TEST_DB="${backend}" PPA_TEST_DB_DEPENDENT_ONLY="$((1 - first))" \
    .venv/bin/python -m pytest -n "${workers}" "${profile[@]}" "$@" || code=$?
  echo "=== ${backend}: $((SECONDS - start)) s ==="
  return "${code}"
}

read -r -a order <<< "${backends}"
status=0
if [ "${PPA_TEST_SEQUENTIAL:-0}" = 1 ]; then
  first=1
  for backend in "${order[@]}"; do
    run_backend "${backend}" "${first}" "${workers}" "$@" || status=$?
    first=0
  done
  exit "${status}"
fi
logs="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "${logs}"' EXIT
for backend in "${order[@]:1}"; do
  echo "=== tests on ${backend} start beside ${order[0]}; their output follows ==="
  run_backend "${backend}" 0 "${workers}" "$@" > "${logs}/${backend}.log" 2>&1 &
  pids+=("$!")
done
# Beside other backends, the first one (which also runs the tests that reach no database) has
# one more worker (none with PPA_TEST_WORKERS=0: in-process as asked).
first_workers="${workers}"
if [ "${#order[@]}" -gt 1 ] && [ "${workers}" -gt 0 ]; then first_workers="$((workers + 1))"; fi
run_backend "${order[0]}" 1 "${first_workers}" "$@" || status=$?
for i in "${!pids[@]}"; do
  backend="${order[$((i + 1))]}"
  code=0
  wait "${pids[$i]}" || code=$?
  cat "${logs}/${backend}.log"
  [ "${code}" = 0 ] || status="${code}"
done
exit "${status}"
