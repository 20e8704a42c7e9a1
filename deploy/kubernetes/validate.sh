#!/usr/bin/env bash
# Validates deploy/kubernetes without a cluster: renders the kustomization with `kubectl kustomize` and checks every
# object, and the three examples, with validate/validate.mjs (the Kubernetes API's schemas, unknown fields, and what
# this deployment promises). A manifest with a misspelt field must fail, or the check itself is broken.
# Needs kubectl (KUBECTL=path to choose one; Debian: apt-get install kubernetes-client) and Node.js with npm (the validator's packages, pinned in
# validate/package-lock.json, come from the npm registry).
set -euo pipefail
cd "$(dirname "$0")"
kubectl=${KUBECTL:-kubectl}
command -v "$kubectl" >/dev/null 2>&1 || { echo "validate.sh: needs kubectl (Debian: apt-get install kubernetes-client)" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "validate.sh: needs Node.js and npm" >&2; exit 2; }
if [ ! -d validate/node_modules ] || [ validate/package-lock.json -nt validate/node_modules ]; then
  (cd validate && npm ci --no-audit --no-fund --loglevel=error)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== kubectl kustomize ($("$kubectl" version --client 2>/dev/null | head -1 | cut -c1-60))"
"$kubectl" kustomize . > "$work/rendered.yaml"
grep -c '^kind:' "$work/rendered.yaml" | sed 's/$/ objects rendered/'
echo "== validate"
node validate/validate.mjs "$work/rendered.yaml" secret.example.yaml servicemonitor.example.yaml drain-job.example.yaml

echo "== kubectl kustomize ../kubernetes-cluster (the base with the optional Redis component)"
"$kubectl" kustomize ../kubernetes-cluster > "$work/cluster.yaml"
grep -c '^kind:' "$work/cluster.yaml" | sed 's/$/ objects rendered/'
node validate/validate.mjs "$work/cluster.yaml"

echo "== the validator refuses a misspelt field, a grace period shorter than the relay's and a Redis no Service serves"
sed 's/periodSeconds: 5/periodSecond: 5/' "$work/rendered.yaml" > "$work/typo.yaml"
sed 's/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 20/' "$work/rendered.yaml" > "$work/grace.yaml"
sed 's|redis://tlsrelay-redis:6379|redis://tlsrelay-cache:6379|' "$work/cluster.yaml" > "$work/redis.yaml"
for broken in typo grace redis; do
  if node validate/validate.mjs "$work/$broken.yaml" > "$work/$broken.out"; then
    echo "FAILED: the validator accepted $broken.yaml" >&2
    exit 1
  fi
  grep PROBLEM "$work/$broken.out"
done
echo "OK: deploy/kubernetes is valid"
