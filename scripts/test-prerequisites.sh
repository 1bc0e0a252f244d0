#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages, from the registries this project may use:
#   - Node 24: the `node` devDependency (npm ci), checked here;
#   - Go: builds kube-apiserver and etcd from the Go module proxy (a prerequisite; we only check it);
#   - openssl: the test API server's certificates;
#   - promtool: Debian package `prometheus` (its Go module cannot be built through the proxy);
#   - shellcheck: checks e2e/kind/run.sh, which cannot run here (no Docker).
# Installs with apt-get only when something is missing and we are root; otherwise says what to install.
set -euo pipefail
missing_apt=()
command -v openssl >/dev/null 2>&1 || missing_apt+=(openssl)
command -v shellcheck >/dev/null 2>&1 || missing_apt+=(shellcheck)
if [ -z "${PROMTOOL:-}" ] && ! command -v promtool >/dev/null 2>&1; then missing_apt+=(prometheus); fi
if [ ${#missing_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "baton tests: installing ${missing_apt[*]} from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    # No service may start inside a build container or CI machine: we only need the promtool binary.
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    echo "baton tests: missing ${missing_apt[*]}; install with: sudo apt-get install --no-install-recommends ${missing_apt[*]}" >&2
    exit 1
  fi
fi
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ] && [ -z "${GO:-}" ]; then
  echo "baton tests: Go 1.26+ is needed to build the test API server (kube-apiserver, etcd) from the Go module proxy; install it from https://go.dev/doc/install" >&2
  exit 1
fi
node scripts/require-node24.mjs
