#!/usr/bin/env bash
# Installs what the harness needs on a Debian machine whose Docker engine runs, then builds
# the sandbox image (skipped when it is up to date). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mmdebstrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # mmdebstrap bootstraps the sandbox base from Debian packages where no registry is reachable.
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e '.[dev,embeddings]'
python3 -m harness sandbox build
