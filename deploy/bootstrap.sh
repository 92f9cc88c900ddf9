#!/usr/bin/env bash
# Install what instaclone's local stack needs, then the project's virtualenv.
#
#   bash deploy/bootstrap.sh
#
# Debian/Ubuntu, as root (or through sudo). Idempotent and quick when everything is there:
#  - Debian packages, only the missing ones (apt-get update once, only then): postgresql (server
#    binaries under /usr/lib/postgresql/*/bin), redis-server, memcached, nginx-light (or nginx),
#    python3.11 and its venv module when needed, chromium and fonts-dejavu-core (the browser the
#    e2e tests drive headless through Playwright, whose own browser download needs the internet,
#    and a font so its screenshots are legible). The services these packages may start on their
#    default ports are the machine's own and are left alone: deploy/stack.py runs private
#    instances on other ports.
#  - .venv (python3.11 -m venv) with [project].dependencies and the "dev" extra of
#    pyproject.toml; pip runs again only when pyproject.toml changed (hash kept in .run/).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
STAMP_DIR=$ROOT/.run/bootstrap
STAMP=$STAMP_DIR/pip.sha256
PIP_LOG=$STAMP_DIR/pip.log

say() { printf 'bootstrap: %s\n' "$*"; }
die() {
    printf 'bootstrap: error: %s\n' "$*" >&2
    exit 1
}

SUDO=()
if [[ $EUID -ne 0 ]]; then
    SUDO=(sudo)
fi

# --- Debian packages ------------------------------------------------------------------------

have_pg_server() {
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null &&
        compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null &&
        compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}
have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }

PYTHON=${PYTHON:-python3.11}
venv_ok() {
    [[ -x .venv/bin/python ]] &&
        .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null
}

missing=()
have_pg_server || missing+=(postgresql)
have psql || missing+=(postgresql-client)
have redis-server || missing+=(redis-server)
have memcached || missing+=(memcached)
have nginx || missing+=(nginx)
have chromium || missing+=(chromium)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
if ! venv_ok; then
    have "$PYTHON" || missing+=(python3.11)
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=(python3-venv)
    fi
fi

if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "missing ${missing[*]} and there is no apt-get here;" \
        "install them by hand"
    if [[ $EUID -ne 0 ]] && ! command -v sudo >/dev/null; then
        die "missing ${missing[*]}: run this script as root, or install sudo"
    fi
    say "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    available() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'; }
    pkgs=()
    for pkg in "${missing[@]}"; do
        case $pkg in
        nginx) if available nginx-light; then pkgs+=(nginx-light); else pkgs+=(nginx); fi ;;
        python3-venv)
            # Debian 12's python3-venv is for 3.11; elsewhere the versioned package is the one.
            if available python3.11-venv; then pkgs+=(python3.11-venv); else pkgs+=(python3-venv); fi
            ;;
        *) pkgs+=("$pkg") ;;
        esac
    done
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
        die "apt-get install ${pkgs[*]} failed"
    have_pg_server || die "postgresql installed but no server binaries under /usr/lib/postgresql"
fi

# --- virtualenv -----------------------------------------------------------------------------

mkdir -p "$STAMP_DIR"
if ! venv_ok; then
    have "$PYTHON" || die "$PYTHON not found; the project needs Python 3.11 (pyproject.toml)"
    say "creating .venv with $("$PYTHON" -c 'import sys; print(sys.executable)')"
    rm -rf .venv "$STAMP"
    "$PYTHON" -m venv .venv
fi

want=$(sha256sum pyproject.toml | cut -d' ' -f1)
have_tools() {
    [[ -x .venv/bin/gunicorn && -x .venv/bin/celery && -x .venv/bin/pytest && -x .venv/bin/weed &&
        -x .venv/bin/playwright ]]
}
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && have_tools; then
    exit 0
fi

say "installing Python dependencies from pyproject.toml (log: ${PIP_LOG#"$ROOT"/})"
# [tool.setuptools] packages = [] means the project itself installs nothing: installing its
# dependencies and its "dev" extra is what `pip install -e '.[dev]'` would do, without a build
# step or an egg-info directory in the checkout.
mapfile -t deps < <(.venv/bin/python - <<'EOF'
import tomllib

with open("pyproject.toml", "rb") as fh:
    project = tomllib.load(fh)["project"]
for dep in project.get("dependencies", []) + project.get("optional-dependencies", {}).get("dev", []):
    print(dep)
EOF
)
.venv/bin/python -m pip install --disable-pip-version-check "${deps[@]}" >"$PIP_LOG" 2>&1 || {
    tail -n 30 "$PIP_LOG" >&2
    die "pip install failed; full log in $PIP_LOG"
}
have_tools || die "pip finished but .venv/bin lacks gunicorn, celery, pytest, weed or playwright"
echo "$want" >"$STAMP"
say "done"
