#!/usr/bin/env bash
# Installs what the real node (`npm run node:up`, `npm run e2e:node`, the node test) needs beyond Go and npm,
# from Debian's packages when missing: containerd, runc, the CNI plugins (/usr/lib/cni), buildah (images
# without a registry or a daemon), iptables and iproute2 (the bridge and the kubelet's chains), openssl (PKI).
# PID 1 is not systemd on these machines: a policy-rc.d keeps the packages from starting any service.
set -euo pipefail
need=()
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v mount >/dev/null 2>&1 || need+=(mount)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "baton node: missing ${need[*]}; install with: sudo apt-get install --no-install-recommends ${need[*]} (the real node also needs root)" >&2
  exit 1
fi
echo "baton node: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
