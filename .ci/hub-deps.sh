#!/usr/bin/env bash
# What tests/test_hub.py (a class on one JupyterHub) needs on top of the browser test's Chromium and Playwright:
# JupyterHub and nbgitpuller (pip; the `teach` extra has them), jupyter-server-proxy (pip; the `course` extra has it:
# it brings %tensorboard's frame through each student's server), Node's configurable-http-proxy (npm, into
# $CIFAR_COURSE_TOOLS, default ~/.cache/cifar-course-ci-tools, outside the repository) and setfacl (apt: acl; the
# test lets its two student accounts pass through a closed folder such as /root when the course's Python lies there).
# Idempotent and quiet. It never fails CI: whatever it cannot install, it says so and the hub test is skipped
# with the reason. Run it with the course's virtual environment active (as .ci/run does).
set -u

log=$(mktemp)
trap 'rm -f "$log"' EXIT
say() { echo "hub-deps: $*"; }
tools="${CIFAR_COURSE_TOOLS:-$HOME/.cache/cifar-course-ci-tools}"
local_proxy="$tools/node_modules/.bin/configurable-http-proxy"

if ! python -c "import jupyterhub, nbgitpuller, jupyter_server_proxy" >/dev/null 2>&1; then
  if ! python -m pip install --quiet --disable-pip-version-check "jupyterhub>=5.0" "nbgitpuller>=1.2" \
       "jupyter-server-proxy>=4.2.0" >"$log" 2>&1; then
    say "could not pip install jupyterhub, nbgitpuller, jupyter-server-proxy; the hub test will be skipped. Last lines:"
    tail -n 3 "$log" | sed 's/^/  /'
  fi
fi

if ! command -v configurable-http-proxy >/dev/null 2>&1 && [ ! -x "$local_proxy" ]; then
  if command -v npm >/dev/null 2>&1; then
    if ! { mkdir -p "$tools" &&
           timeout 600 npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
             configurable-http-proxy >"$log" 2>&1; }; then
      say "could not npm install configurable-http-proxy (offline?); the hub test will be skipped. Last lines:"
      tail -n 3 "$log" | sed 's/^/  /'
    fi
  else
    say "no npm on this machine: install Node (apt-get install nodejs npm) to run the hub test"
  fi
fi

if ! command -v setfacl >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt_opts=(-qq -o Acquire::Retries=1 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30)
  install_acl() {
    timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends acl
  }
  if ! { install_acl >"$log" 2>&1 ||
         { timeout 600 apt-get "${apt_opts[@]}" update >>"$log" 2>&1 && install_acl >>"$log" 2>&1; }; }; then
    say "could not install acl (setfacl) with apt-get; the hub test is skipped if the course's Python is in a closed folder"
    tail -n 3 "$log" | sed 's/^/  /'
  fi
fi

version() { python -c "from importlib.metadata import version; print(version('$1'))" 2>/dev/null || echo "missing"; }
proxy=$(command -v configurable-http-proxy || { [ -x "$local_proxy" ] && echo "$local_proxy"; } || echo "missing")
proxy_version=$([ "$proxy" != "missing" ] && "$proxy" --version 2>/dev/null || echo "")
say "jupyterhub: $(version jupyterhub); nbgitpuller: $(version nbgitpuller);" \
    "jupyter-server-proxy: $(version jupyter-server-proxy); configurable-http-proxy: $proxy" \
    "${proxy_version}; node: $(node --version 2>/dev/null || echo missing); setfacl: $(command -v setfacl || echo missing)"
exit 0
