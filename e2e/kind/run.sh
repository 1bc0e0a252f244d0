#!/usr/bin/env bash
# baton end to end on a real cluster (kind): build the images, install the chart, roll the Deployment several
# times under a steady stream of Telegram updates, and read the Telegram double's accounting: no 409s, no
# update handled twice or lost, one handoff per rollout at least. Needs docker, kind, kubectl and helm.
#
#   e2e/kind/run.sh                 # 5 rollouts, then deletes the cluster
#   ROLLOUTS=10 NATIVE=1 KEEP=1 e2e/kind/run.sh
#
# Environment: CLUSTER (baton-e2e), NAMESPACE (baton-e2e), ROLLOUTS (5), SETTLE_SECONDS (10, between rollouts),
# NATIVE (0; 1 = the sidecar as a native sidecar), KEEP (0; 1 = keep the cluster), KIND_NODE_IMAGE (kind's default).
set -euo pipefail

CLUSTER="${CLUSTER:-baton-e2e}"
NAMESPACE="${NAMESPACE:-baton-e2e}"
ROLLOUTS="${ROLLOUTS:-5}"
SETTLE_SECONDS="${SETTLE_SECONDS:-10}"
NATIVE="${NATIVE:-0}"
KEEP="${KEEP:-0}"
RELEASE=e2e
DEPLOYMENT=e2e-bot
LEASE=e2e-bot
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/e2e/kind"

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'e2e/kind: %s\n' "$*" >&2; exit 1; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (https://kind.sigs.k8s.io/docs/user/quick-start/ lists docker, kind and kubectl; helm: https://helm.sh/docs/intro/install/)"
done
docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer"

kc() { kubectl --context "kind-$CLUSTER" "$@"; }
kn() { kc -n "$NAMESPACE" "$@"; }

cleanup() {
  local code=$?
  if [ "$code" -ne 0 ]; then
    log "failed (exit $code); what the cluster says"
    kn get pods -o wide -L baton/role 2>/dev/null || true
    kn get lease "$LEASE" -o wide 2>/dev/null || true
    kn get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 || true
  fi
  if [ "$KEEP" = 1 ]; then
    log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
  else
    log "deleting cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
}

log "kind cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "reusing the existing cluster $CLUSTER" >&2
else
  kind create cluster --name "$CLUSTER" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 120s
fi
trap cleanup EXIT
kc version

log "images: baton:kind (the sidecar, ./Dockerfile) and baton-e2e:kind (bot and Telegram double, e2e/kind/Dockerfile)"
docker build -t baton:kind "$ROOT"
docker build -f "$HERE/Dockerfile" -t baton-e2e:kind "$ROOT"
kind load docker-image --name "$CLUSTER" baton:kind baton-e2e:kind

log "Telegram double"
kc create namespace "$NAMESPACE" --dry-run=client -o yaml | kc apply -f -
kn apply -f "$HERE/telegram-double.yaml"
kn rollout status deployment/telegram-double --timeout=180s

log "helm install $RELEASE (charts/baton, e2e/kind/values.yaml, native sidecar: $NATIVE)"
native_flag=false
[ "$NATIVE" = 1 ] && native_flag=true
helm upgrade --install "$RELEASE" "$ROOT/charts/baton" \
  --kube-context "kind-$CLUSTER" --namespace "$NAMESPACE" \
  -f "$HERE/values.yaml" --set "sidecar.native=$native_flag" \
  --wait --timeout 5m
kn rollout status "deployment/$DEPLOYMENT" --timeout=300s

holder() { kn get lease "$LEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
log "waiting for a leader"
for _ in $(seq 1 60); do
  [ -n "$(holder)" ] && break
  sleep 1
done
[ -n "$(holder)" ] || die "no pod took Lease $LEASE within 60 s"
echo "leader: $(holder)" >&2
kn get pods -L baton/role

report() { kn exec deployment/telegram-double -- node e2e/kind/report.ts "$@"; }
report reset
sleep "$SETTLE_SECONDS"

for i in $(seq 1 "$ROLLOUTS"); do
  log "rollout $i/$ROLLOUTS (leader before: $(holder))"
  kn rollout restart "deployment/$DEPLOYMENT"
  kn rollout status "deployment/$DEPLOYMENT" --timeout=300s
  sleep "$SETTLE_SECONDS"
  echo "leader after: $(holder)" >&2
done

log "Lease and pods"
kn get lease "$LEASE" -o wide
kn get pods -L baton/role
kn get events --field-selector "involvedObject.name=$LEASE" --sort-by=.lastTimestamp | tail -n 20

log "the double's accounting"
report report --rollouts "$ROLLOUTS"
