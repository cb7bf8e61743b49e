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
    want="$(camwatch_install_hash "$extras")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    # An up-to-date install with more extras serves as well (scripts/run after scripts/test):
    # installing again would rewrite the venv under whatever else runs from it right now.
    local other have extra covered
    for other in "$CAMWATCH_VENV"/.camwatch-install-*; do
        [ -f "$other" ] || continue
        have="${other##*/.camwatch-install-}"
        covered=1
        for extra in ${extras//,/ }; do
            case ",$have," in *",$extra,"*) ;; *) covered=0 ;; esac
        done
        if [ "$covered" -eq 1 ] && [ "$(cat "$other")" = "$(camwatch_install_hash "$have")" ]; then
            return 0
        fi
    done
    echo "camwatch: installing $target into $CAMWATCH_VENV" >&2
    rm -f "$stamp"
    camwatch_pip --upgrade pip || return 1
    camwatch_pip -e "$target" || return 1
    echo "$want" >"$stamp"
}

camwatch_install_hash() {
    # what an install with these extras was made from: pyproject.toml, the extras, the Python
    { cat "$CAMWATCH_ROOT/pyproject.toml"; echo "extras=$1"; "$CAMWATCH_VENV/bin/python" -V 2>&1; } |
        sha256sum | cut -d' ' -f1
}

camwatch_pip() {
    # pip install ARGS, its output (build backend warnings included) kept in .venv/install.log
    # and shown only when it fails.
    local log="$CAMWATCH_VENV/install.log"
    echo "== pip install $*" >>"$log"
    if ! "$CAMWATCH_VENV/bin/python" -m pip install --disable-pip-version-check --no-input "$@" >>"$log" 2>&1; then
        tail -n 25 "$log" >&2
        echo "camwatch: pip install $* failed (full output: $log)" >&2
        return 1
    fi
}

camwatch_faces() {
    # Face recognition (the 'faces' extra: dlib-bin) where a prebuilt wheel exists for this
    # platform. Never fails the install: without it faces are found but not named.
    local python="$CAMWATCH_VENV/bin/python"
    if "$python" -c 'import dlib, face_recognition_models' >/dev/null 2>&1; then
        return 0
    fi
    local platform
    platform="$(uname -m) $("$python" -c 'import platform; print("Python", platform.python_version())')"
    local marker="$CAMWATCH_VENV/.camwatch-faces-unavailable"
    local want
    want="$( { cat "$CAMWATCH_ROOT/pyproject.toml"; echo "$platform"; } | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$want" ]; then
        echo "camwatch: installing face recognition (dlib) for $platform" >&2
        if PIP_ONLY_BINARY=dlib-bin camwatch_pip -e "$CAMWATCH_ROOT[faces]" 2>/dev/null; then
            rm -f "$marker"
            return 0
        fi
        echo "$want" >"$marker"
    fi
    echo "camwatch: face recognition is not available for $platform (no dlib-bin wheel for it; details in $CAMWATCH_VENV/install.log): faces are found but not named" >&2
}
