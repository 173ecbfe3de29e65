#!/usr/bin/env bash
# Lint the browser editor (editor/web: ESLint, flat config in editor/web/eslint.config.js), then
# type-check its JSDoc'd JavaScript (tsc -p jsconfig.json: checkJs, nothing emitted).
# Called by test.sh after bootstrap_web (which installs editor/web/node_modules from the lockfile
# and builds, generating src/generated/catalogue.json that the type check reads).
set -euo pipefail
cd "$(dirname "$0")/../editor/web"
if [ ! -x node_modules/.bin/eslint ] || [ ! -x node_modules/.bin/tsc ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f src/generated/catalogue.json ]; then
  npm run --silent build
fi
npm run --silent lint
npm run --silent typecheck
