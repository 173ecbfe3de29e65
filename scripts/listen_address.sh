# shellcheck shell=bash
# listen_address ARGS...: the address `ppa serve ARGS...` listens on, in LISTEN_HOST and
# LISTEN_PORT (--host / --port, also as --host=H / --port=P, win over PPA_HOST / PPA_PORT), so
# that ./serve.sh prints the address it serves. Sourced by serve.sh.
listen_address() {
  LISTEN_HOST="${PPA_HOST:-127.0.0.1}"
  LISTEN_PORT="${PPA_PORT:-8000}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --host) LISTEN_HOST="${2:-$LISTEN_HOST}"; shift ;;
      --host=*) LISTEN_HOST="${1#--host=}" ;;
      --port) LISTEN_PORT="${2:-$LISTEN_PORT}"; shift ;;
      --port=*) LISTEN_PORT="${1#--port=}" ;;
    esac
    shift
  done
  export LISTEN_HOST LISTEN_PORT
}
