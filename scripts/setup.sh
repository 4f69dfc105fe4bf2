#!/usr/bin/env bash
# Sets up everything a fresh clone needs; safe to run again. Used by `make run` and `make test`.
#   scripts/setup.sh          runtime: system packages, .venv, requirements, Bootstrap, database, translations
#   scripts/setup.sh --test   the same plus test requirements and the test tools (Chromium, poppler)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_packages=()
need() { command -v "$1" >/dev/null 2>&1 || apt_packages+=("$2"); }
need msgfmt gettext
need npm npm
if [ "$want_test" = 1 ]; then
  need pdftoppm poppler-utils
  need chromium chromium
  # The correspondence tests fetch mail from a real IMAP server (tests/test_mail_servers.py).
  need dovecot dovecot-imapd
fi
# WeasyPrint renders with Pango.
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || apt_packages+=(libpango-1.0-0 libpangoft2-1.0-0)
# The PDF documents are set in DejaVu (static/pdf/document.css).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_packages+=(fonts-dejavu-core)
# Camera and file names on seized drives may be Chinese, Japanese or Korean (USB manifests).
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || apt_packages+=(fonts-wqy-microhei)
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "Installing system packages: ${apt_packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# This machine's pip config lists local mirrors that may be absent; their warnings are noise.
pip_install() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install --upgrade pip
if [ "$want_test" = 1 ]; then
  pip_install -r requirements-test.txt
else
  pip_install -r requirements.txt
fi

npm ci --silent --no-audit --no-fund >/dev/null

.venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
