#!/usr/bin/env bash
# What tests/test_browser.py needs: Debian's chromium (apt) and Playwright's Python package (pip; no browser
# download, the test passes executable_path). Idempotent and quiet. It never fails CI: when apt or pip cannot
# be reached, it says so and the browser test is skipped with the reason.
# Run it with the course's virtual environment active (as .ci/run does).
set -u

log=$(mktemp)
trap 'rm -f "$log"' EXIT
say() { echo "browser-deps: $*"; }

find_chromium() {
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" && return 0
  done
  return 1
}

if ! find_chromium >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    apt_opts=(-qq -o Acquire::Retries=1 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30)
    if timeout 600 $sudo apt-get "${apt_opts[@]}" update >"$log" 2>&1 &&
       timeout 900 $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y \
         --no-install-recommends chromium >>"$log" 2>&1; then
      :
    else
      say "could not install chromium with apt-get (offline?); the browser test will be skipped. Last lines:"
      tail -n 3 "$log" | sed 's/^/  /'
    fi
  else
    say "no apt-get on this machine; install Chromium yourself (or set CHROMIUM=/path/to/it) to run the browser test"
  fi
fi

if ! python -c "import playwright.sync_api" >/dev/null 2>&1; then
  if ! python -m pip install --quiet --disable-pip-version-check playwright >"$log" 2>&1; then
    say "could not pip install playwright; the browser test will be skipped. Last lines:"
    tail -n 3 "$log" | sed 's/^/  /'
  fi
fi

chromium=$(find_chromium || echo "missing")
playwright=$(python -c "from importlib.metadata import version; print(version('playwright'))" 2>/dev/null || echo "missing")
say "chromium: $chromium; playwright: $playwright"
exit 0
