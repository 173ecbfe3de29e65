#!/usr/bin/env bash
# Lint the browser editor (editor/web: ESLint, flat config in editor/web/eslint.config.js).
# Called by test.sh after bootstrap_web (which installs editor/web/node_modules from the lockfile).
set -euo pipefail
cd "$(dirname "$0")/../editor/web"
if [ ! -x node_modules/.bin/eslint ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent lint
