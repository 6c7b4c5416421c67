# The decisions of ./check, as functions that a test can call one at a time (CheckScriptTest in loupe-bench):
# waiting for apt's lock, whether the browser tests can run, counting skipped tests and the final verdict.
# Sourced by ./check; defines functions only.

# The browser and driver the browser tests use: Debian's, or LOUPE_CHROMIUM / LOUPE_CHROMEDRIVER (which
# loupe-viz's Chromium test support reads too; LOUPE_CHROMIUM=/nonexistent simulates a machine without it).
loupe_chromium() {
    echo "${LOUPE_CHROMIUM:-/usr/bin/chromium}"
}

loupe_chromedriver() {
    echo "${LOUPE_CHROMEDRIVER:-/usr/bin/chromedriver}"
}

# Succeeds when the browser tests can run; otherwise prints why (one line) and fails.
loupe_chromium_ready() {
    local browser driver
    browser="$(loupe_chromium)"
    driver="$(loupe_chromedriver)"
    if [[ ! -x "$browser" ]]; then
        echo "Chromium is unavailable ($browser is not an executable)"
        return 1
    fi
    if [[ ! -x "$driver" ]]; then
        echo "chromedriver is unavailable ($driver is not an executable)"
        return 1
    fi
}

# apt-get "$@", retried while another process holds apt's or dpkg's lock, for up to LOUPE_APT_WAIT seconds
# (default 300), polling every LOUPE_APT_POLL seconds (default 5). Any other failure ends it at once.
loupe_apt_get() {
    local wait="${LOUPE_APT_WAIT:-300}" poll="${LOUPE_APT_POLL:-5}" waited=0 output status
    local sudo=""
    if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    fi
    while true; do
        status=0
        output="$(DEBIAN_FRONTEND=noninteractive $sudo apt-get "$@" 2>&1)" || status=$?
        if (( status == 0 )); then
            echo "$output"
            return 0
        fi
        if ! grep -qiE "could not get lock|unable to lock|is another process using it" <<<"$output" \
                || (( waited >= wait )); then
            echo "$output" >&2
            (( waited >= wait )) && echo "==> apt's lock was still held after ${waited} s" >&2
            return "$status"
        fi
        echo "==> apt is locked by another process; waiting (${waited} s of ${wait} s)"
        sleep "$poll"
        waited=$((waited + poll))
    done
}

# How many tests Surefire reported skipped under the module folders of $1 (default: here).
loupe_skipped_tests() {
    local root="${1:-.}" total=0 n
    while IFS= read -r n; do
        total=$((total + n))
    done < <(grep -ho 'skipped="[0-9]*"' "$root"/loupe-*/target/surefire-reports/TEST-*.xml 2>/dev/null \
        | sed 's/[^0-9]//g')
    echo "$total"
}

# The last line of ./check and its status. Arguments: the number of skipped tests, whether an incomplete check is
# accepted (true for --allow-incomplete), the runs that failed and the reasons the check is incomplete (each ""
# when none; several joined by "; "). Never says "all passed" when a test was skipped or a run could not start.
loupe_check_verdict() {
    local skipped="$1" allow="$2" failures="$3" reasons="$4"
    if [[ -n "$failures" ]]; then
        echo "check: FAILED under: $failures" >&2
        [[ -n "$reasons" || "$skipped" != 0 ]] \
            && echo "INCOMPLETE: $skipped tests skipped because ${reasons:-of assumptions (see the reports)}" >&2
        return 1
    fi
    if [[ -n "$reasons" || "$skipped" != 0 ]]; then
        echo "INCOMPLETE: $skipped tests skipped because ${reasons:-of assumptions (see the reports)}" >&2
        if [[ "$allow" == true ]]; then
            echo "check: INCOMPLETE, accepted by --allow-incomplete (what ran passed)"
            return 0
        fi
        echo "check: INCOMPLETE, so it fails (./check --allow-incomplete accepts an incomplete check)" >&2
        return 1
    fi
    echo "check: all passed"
}
