#!/usr/bin/env bash
# Install what dsar needs into .venv, on a fresh Debian machine with Python 3.11.
#   scripts/bootstrap.sh runtime   what `make run` needs
#   scripts/bootstrap.sh dev       that, plus the test tools and a Chromium for browser tests
# Safe to run again: it does work only when something is missing or requirements changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-runtime}
say() { printf 'bootstrap: %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    say "missing system packages: $*; install them with: sudo apt-get install -y $*"
    exit 1
  fi
  say "installing system packages: $*"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { say "python3 (3.11 or newer) is required"; exit 1; }

# venv and ensurepip come in a separate package on Debian.
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$python" -m venv .venv
  fi
fi

# WeasyPrint renders with Pango; fonts so that PDFs have text glyphs.
if [ -z "$("$python" -c 'import ctypes.util; print(ctypes.util.find_library("pango-1.0") or "")')" ]; then
  apt_install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
fi

req=requirements.txt
[ "$mode" = dev ] && req=requirements-dev.txt
stamp=.venv/.installed-$mode
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ "$req" -nt "$stamp" ]; then
  say "installing Python packages from $req"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

# The person's languages: each catalogue compiled when it is newer than its compiled file
# (messages still marked fuzzy are left out, and shown in English).
for po in translations/*/LC_MESSAGES/messages.po; do
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    .venv/bin/pybabel -q compile -i "$po" -o "$mo"
  fi
done

if [ "$mode" = dev ]; then
  # Browser tests drive the system's Chromium; Playwright does not download one.
  if ! command -v chromium >/dev/null; then
    apt_install chromium
  fi
  # The PostgreSQL tests start a throwaway server from the system's binaries.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
fi
