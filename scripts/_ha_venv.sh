# shellcheck shell=bash
# Sourced by scripts/test. A virtual environment with Home Assistant (tests/support/ha-requirements.txt)
# for tests/test_ha_schemas.py, which runs Home Assistant's own MQTT schemas on what camwatch
# publishes. Home Assistant needs Python 3.13; the venv lives in the user's cache, outside the
# checkout, so a fresh clone on the same machine (CI) reuses it. Built once (several minutes),
# then skipped while the requirements and the Python version are the same (a stamp).

camwatch_ha_python() {
    # The Python 3.13 to build it with: $CAMWATCH_HA_BASE_PYTHON, pyenv's 3.13, or python3.13 on
    # PATH — the first that runs (a pyenv shim of a version not selected does not).
    local root
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    local candidate
    for candidate in "${CAMWATCH_HA_BASE_PYTHON:-}" \
        $(ls -d "$root"/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV) \
        "$(command -v python3.13 2>/dev/null)"; do
        if [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

camwatch_ha_venv() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    local requirements="$root/tests/support/ha-requirements.txt"
    local venv="${CAMWATCH_HA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/camwatch/ha-venv}"
    export CAMWATCH_HA_PYTHON="$venv/bin/python"
    local base
    base="$(camwatch_ha_python)"
    if [ -z "$base" ]; then
        echo "camwatch: no Python 3.13 for the Home Assistant schema test (set CAMWATCH_HA_BASE_PYTHON or install python3.13)" >&2
        return 1
    fi
    local want
    want="$( { cat "$requirements"; "$base" -V 2>&1; } | sha256sum | cut -d' ' -f1)"
    local stamp="$venv/.camwatch-ha-stamp"
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$venv")"
    # One build at a time: several checkouts on one machine share this cache.
    (
        flock 9
        if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
            exit 0  # another checkout built it while this one waited
        fi
        echo "camwatch: installing Home Assistant into $venv for the schema test (once; a few minutes)" >&2
        rm -rf "$venv"
        if ! "$base" -m venv "$venv"; then
            echo "camwatch: '$base -m venv $venv' failed" >&2
            exit 1
        fi
        log="$venv/install.log"
        if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$requirements" >"$log" 2>&1; then
            tail -n 25 "$log" >&2
            echo "camwatch: installing Home Assistant failed (full output: $log)" >&2
            exit 1
        fi
        echo "$want" >"$stamp"
    ) 9>"$venv.lock"
}
