#!/usr/bin/env bash
# One command: install everything the tests need (Python dev tools, Node Yjs clients, Chromium),
# check formatting, lint and types, then run the whole suite on SQLite and on PostgreSQL.
# Usage: ./test.sh [extra pytest args]   (PPA_TEST_BACKENDS="sqlite postgresql" by default)
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
bootstrap_python dev
bootstrap_web
bootstrap_test_tools

PY_DIRS="server editor versions exports tests bench"
.venv/bin/ruff format --check ${PY_DIRS}
.venv/bin/ruff check ${PY_DIRS}
.venv/bin/mypy ${PY_DIRS}

status=0
for backend in ${PPA_TEST_BACKENDS:-sqlite postgresql}; do
  echo "=== tests on ${backend} ==="
  PPA_TEST_DB="${backend}" .venv/bin/python -m pytest "$@" || status=$?
done
exit "${status}"
