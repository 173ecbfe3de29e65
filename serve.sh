#!/usr/bin/env bash
# One command: install everything (Python venv, the browser editor's assets), seed the demo on
# SQLite and serve the app. Usage: ./serve.sh [--host 127.0.0.1] [--port 8000]
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
bootstrap_python
bootstrap_web
.venv/bin/ppa demo
. scripts/listen_address.sh
listen_address "$@"
echo
echo "Ouvrez http://${LISTEN_HOST}:${LISTEN_PORT}/ dans votre navigateur (API : /docs)."
exec .venv/bin/ppa serve "$@"
