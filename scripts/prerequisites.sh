#!/usr/bin/env bash
# The ONE list of programs the tests, the real node and the kind e2e run from outside npm and Go, and where
# each comes from. `npm test` runs `scripts/prerequisites.sh tests` and `npm run test:node` runs
# `scripts/prerequisites.sh node` before anything else: what is missing is installed from Debian's packages
# when we are root and have apt-get; otherwise the script says exactly what to install and fails.
# test/unit/harness/prerequisites.test.ts reads this table and fails when the code spawns a program not in it.
#
#   scripts/prerequisites.sh tests   # npm test: unit + integration tests
#   scripts/prerequisites.sh node    # npm run test:node, node:up, e2e:node: a real one-node cluster (root, Linux)
#   scripts/prerequisites.sh kind    # e2e/kind/run.sh: only checks (Docker and kind are the user's to install)
#
# The image test's arm64 run needs no `dpkg --add-architecture arm64`: scripts/image-base.ts downloads Debian's
# arm64 libraries with apt-get and a private state folder in the test cache, leaving the machine's dpkg alone.
#
# Programs the project builds itself from Go modules (kube-apiserver, etcd, kine, kubectl, helm, kubelet,
# kube-controller-manager, kube-scheduler, the client-go peer: test/kube/binaries.ts, test/node; actionlint for
# npm run lint: scripts/lint-ci.ts) are not here; what such a build runs is (gcc: kine's SQLite is C, built with cgo).
set -euo pipefail

group="${1:-}"
case "$group" in
  tests | node | kind) ;;
  *) echo "usage: scripts/prerequisites.sh tests|node|kind" >&2; exit 2 ;;
esac

# program: a name looked up on the PATH (also in /usr/sbin and /sbin), or an absolute path (a glob allowed).
# source:  apt:<Debian package>, or node (the Node toolchain npm ci installs), or url:<where to get it>.
# groups:  which commands need it, comma-separated.
# program                          source                              groups
TABLE='
node                               node                                tests,node
npm                                node                                tests,node
npx                                node                                tests,node
go                                 url:https://go.dev/doc/install      tests,node
gcc                                apt:gcc                             tests
bash                               apt:bash                            tests,node,kind
git                                apt:git                             tests,node
sh                                 apt:dash                            tests,node
apt-get                            apt:apt                             tests,node
id                                 apt:coreutils                       tests,node
uname                              apt:coreutils                       tests,node
dirname                            apt:coreutils                       tests,node,kind
chmod                              apt:coreutils                       tests,node
chroot                             apt:coreutils                       tests
cp                                 apt:coreutils                       tests
mv                                 apt:coreutils                       node
readlink                           apt:coreutils                       tests
sleep                              apt:coreutils                       kind
seq                                apt:coreutils                       kind
tail                               apt:coreutils                       kind
grep                               apt:grep                            kind
tar                                apt:tar                             tests,node
ldd                                apt:libc-bin                        node
dpkg-deb                           apt:dpkg                            tests
qemu-aarch64-static                apt:qemu-user-static                tests
runuser                            apt:util-linux                      tests
setpriv                            apt:util-linux                      tests
unshare                            apt:util-linux                      tests
openssl                            apt:openssl                         tests,node
promtool                           apt:prometheus                      tests
shellcheck                         apt:shellcheck                      tests
python3                            apt:python3                         tests
/usr/bin/node                      apt:nodejs                          tests
/usr/lib/postgresql/*/bin/initdb   apt:postgresql                      tests
/usr/lib/postgresql/*/bin/postgres apt:postgresql                      tests
buildah                            apt:buildah                         node
containerd                         apt:containerd                      node
containerd-shim-runc-v2            apt:containerd                      node
ctr                                apt:containerd                      node
runc                               apt:runc                            node
/usr/lib/cni/bridge                apt:containernetworking-plugins     node
iptables                           apt:iptables                        node
ip6tables                          apt:iptables                        node
ip                                 apt:iproute2                        node
sysctl                             apt:procps                          node
umount                             apt:mount                           node
busybox                            apt:busybox-static                  node
docker                             url:https://docs.docker.com/engine/install/ kind
kind                               url:https://kind.sigs.k8s.io/docs/user/quick-start/ kind
kubectl                            url:https://kubernetes.io/docs/tasks/tools/ kind
helm                               url:https://helm.sh/docs/intro/install/ kind
'

# The real node changes sysctls, iptables, a bridge, mounts and cgroups: say at once when it cannot run here.
if [ "$group" = node ]; then
  [ "$(uname -s)" = Linux ] || { echo "baton node: the real node needs Linux (this is $(uname -s))" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "baton node: the real node needs root (containerd, the kubelet, a bridge, cgroups); run it as root: sudo npm run test:node" >&2; exit 1; }
fi

PATH="$PATH:/usr/sbin:/sbin"
present() {
  local program="$1"
  case "$program" in
    # Go may also be found where its installer puts it, or named by $GO; promtool by $PROMTOOL.
    go) [ -n "${GO:-}" ] || [ -x /usr/local/go/bin/go ] || command -v go >/dev/null 2>&1 ;;
    promtool) [ -n "${PROMTOOL:-}" ] || command -v promtool >/dev/null 2>&1 ;;
    /*) compgen -G "$program" >/dev/null ;;
    *) command -v "$program" >/dev/null 2>&1 ;;
  esac
}

apt=()
manual=()
while read -r program source groups; do
  [ -n "$program" ] || continue
  [[ ",$groups," == *",$group,"* ]] || continue
  [ "$source" = node ] && continue # checked below: npm ci installs Node 24 and npm puts it first on the PATH
  present "$program" && continue
  case "$source" in
    apt:*) [[ " ${apt[*]} " == *" ${source#apt:} "* ]] || apt+=("${source#apt:}") ;;
    url:*) manual+=("$program (${source#url:})") ;;
  esac
done <<<"$TABLE"

if [ ${#manual[@]} -gt 0 ]; then
  printf 'baton %s: missing, not from Debian: %s\n' "$group" "${manual[*]}" >&2
fi
if [ ${#apt[@]} -gt 0 ]; then
  if [ "$group" != kind ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "baton $group: installing ${apt[*]} from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    # No service may start inside a build container or CI machine (PID 1 is not systemd): we need the binaries only.
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${apt[@]}" >/dev/null
  else
    echo "baton $group: missing Debian packages ${apt[*]}; install with: sudo apt-get install --no-install-recommends ${apt[*]}" >&2
    exit 1
  fi
fi
[ ${#manual[@]} -eq 0 ] || exit 1
if [ "$group" != kind ]; then node "$(dirname "$0")/require-node24.mjs"; fi
