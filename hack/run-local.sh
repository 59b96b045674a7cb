#!/usr/bin/env bash
# Runs the operator on a throwaway local control plane (etcd + kube-apiserver on free
# loopback ports, CRDs and the admission webhooks installed, local serving certificates).
# Ctrl-C stops everything and removes its files.
#
# The operator uses a kubeconfig of its own, the only exempt identity here: the admin
# kubeconfig printed for you is judged by the webhooks like any other user, so an RBAC
# write an Enforce baseline forbids is denied.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

assets="$(hack/envtest/assets.sh)"
go build -o bin/rbac-guardrails .
go build -o bin/localcp ./hack/localcp

KUBEBUILDER_ASSETS="$assets" exec bin/localcp -webhook-dir config/webhook -- 'KUBECONFIG="$OPERATOR_KUBECONFIG" exec bin/rbac-guardrails \
	--zap-devel --journal-namespace=default \
	--metrics-bind-address=127.0.0.1:$LOCAL_METRICS_PORT --metrics-secure=false \
	--health-probe-bind-address=127.0.0.1:$LOCAL_PROBE_PORT \
	--webhook-host=$LOCAL_WEBHOOK_HOST --webhook-port=$LOCAL_WEBHOOK_PORT --webhook-cert-dir=$LOCAL_WEBHOOK_CERT_DIR \
	--webhook-exempt-users=rbac-guardrails-operator --webhook-exempt-groups='
