# Sourced by serve.sh and test.sh: idempotent installation steps, nothing installed by hand.

pip_quiet() {
  # pip warns about this machine's optional local index; keep real errors visible.
  .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location" >&2)
}

bootstrap_python() {
  local extra="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local stamp=".venv/.installed-${extra:-base}"
  if [ ! -f "${stamp}" ] || [ pyproject.toml -nt "${stamp}" ]; then
    pip_quiet install --quiet --upgrade pip
    if [ -n "${extra}" ]; then
      pip_quiet install --quiet -e ".[${extra}]"
    else
      pip_quiet install --quiet -e .
    fi
    touch "${stamp}"
  fi
  bootstrap_cog
}

bootstrap_cog() {
  # The commune table (COG) of exports/communes.py: the npm package @etalab/decoupage-administratif,
  # pinned by exports/data/cog/package-lock.json, read as JSON (no JavaScript runs).
  local dir=exports/data/cog
  if [ ! -d "${dir}/node_modules" ] || [ "${dir}/package-lock.json" -nt "${dir}/node_modules" ]; then
    (cd "${dir}" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

bootstrap_web() {
  # The browser editor's bundle is built from editor/web with the lockfile (npm ci + esbuild).
  if [ -f editor/web/package.json ]; then
    if [ ! -d editor/web/node_modules ] || [ editor/web/package-lock.json -nt editor/web/node_modules ]; then
      (cd editor/web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    (cd editor/web && npm run --silent build)
  fi
}

apt_update_waiting() {
  # Another install may be running (a parallel run, unattended upgrades). apt-get install waits
  # for dpkg's lock (DPkg::Lock::Timeout above) but apt-get update does not wait for the package
  # lists' lock (apt 2.6): retry it while that lock is held, up to 10 minutes.
  local deadline=$((SECONDS + 600)) out
  while ! out=$(apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1); do
    if ! grep -q "Could not get lock" <<<"${out}" || [ "${SECONDS}" -ge "${deadline}" ]; then
      echo "${out}" >&2
      return 1
    fi
    echo "waiting for another apt-get to finish..." >&2
    sleep 5
  done
}

bootstrap_test_tools() {
  if [ -f tests/js/package.json ]; then
    if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; then
      (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
  # Debian packages the tests need: chromium (e2e), dovecot (IMAP) and Apache PDFBox Preflight with its jars
  # (tests/exports/test_pdfa_preflight.py). Only file checks when everything is there.
  local missing="" pair
  command -v chromium >/dev/null 2>&1 || missing="chromium"
  command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
  # dovecot: the IMAP server of the MSSanté read-receipt tests (tests/server/transmissions).
  [ -x /usr/sbin/dovecot ] || missing="$missing dovecot-imapd"
  for pair in preflight.jar:libpdfbox2-java fontbox2.jar:libfontbox2-java \
    commons-logging.jar:libcommons-logging-java jaxb-api.jar:libjaxb-api-java \
    javax.activation.jar:libactivation-java; do
    [ -f "/usr/share/java/${pair%%:*}" ] || missing="$missing ${pair#*:}"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ]; then
      # shellcheck disable=SC2086
      apt_update_waiting &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
    else
      echo "missing Debian packages for the tests: sudo apt-get install$missing" >&2
      return 1
    fi
  fi
}
