# shellcheck shell=bash
# Shared by scripts/test and scripts/run (sourced, not executed).
# Creates .venv when missing and installs camwatch editable into it, skipping the
# install when pyproject.toml, the extras and the Python version did not change.

CAMWATCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAMWATCH_VENV="${CAMWATCH_VENV:-$CAMWATCH_ROOT/.venv}"

camwatch_venv() {
    # usage: camwatch_venv [extras]   e.g. camwatch_venv test
    local extras="${1:-}"
    local python="${CAMWATCH_PYTHON:-python3}"
    local target="$CAMWATCH_ROOT"
    [ -n "$extras" ] && target="$CAMWATCH_ROOT[$extras]"

    if ! command -v "$python" >/dev/null 2>&1; then
        echo "camwatch: $python not found; install Python 3.10+ (apt-get install python3 python3-venv)" >&2
        return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "camwatch: $("$python" --version 2>&1) is too old; Python 3.10+ is required" >&2
        return 1
    fi
    if [ ! -x "$CAMWATCH_VENV/bin/python" ]; then
        echo "camwatch: creating virtual environment $CAMWATCH_VENV" >&2
        if ! "$python" -m venv "$CAMWATCH_VENV"; then
            rm -rf "$CAMWATCH_VENV"
            echo "camwatch: '$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        fi
    fi

    local stamp="$CAMWATCH_VENV/.camwatch-install${extras:+-$extras}"
    local want
    want="$( { cat "$CAMWATCH_ROOT/pyproject.toml"; echo "extras=$extras";
               "$CAMWATCH_VENV/bin/python" -V 2>&1; } | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "camwatch: installing $target into $CAMWATCH_VENV" >&2
    rm -f "$stamp"
    # pip and the build backend talk a lot even with --quiet (notices, editable-install
    # hints): keep it in a log and show it only when the install fails.
    local log="$CAMWATCH_VENV/pip-install.log"
    if ! { "$CAMWATCH_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
           "$CAMWATCH_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$target"; } \
           >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "camwatch: pip install failed (whole log: $log)" >&2
        return 1
    fi
    echo "$want" >"$stamp"
}
