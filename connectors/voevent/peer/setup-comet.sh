#!/usr/bin/env bash
# Installs the independent VTP peer used by connectors/voevent/vtp.comet.test.ts: the Comet VOEvent
# broker (PyPI `comet`, BSD) in a private venv under .gft/vtp-peer (git-ignored). Idempotent.
# Usage: bash connectors/voevent/peer/setup-comet.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
venv="$root/.gft/vtp-peer"
if [ -x "$venv/bin/comet-sendvo" ] && "$venv/bin/python" -c 'import comet' 2>/dev/null; then
  echo "vtp peer: Comet already installed in $venv"
  exit 0
fi
# Debian's interpreter (python3-venv, deploy/install-debian.sh) when present: a python3 earlier on PATH
# (pyenv, …) may lack venv/ensurepip
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'comet==3.1.0'
"$venv/bin/python" -c 'import comet, twisted; print("vtp peer: Comet", comet.__version__, "with Twisted", twisted.__version__, "in", "'"$venv"'")'
