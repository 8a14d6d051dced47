#!/usr/bin/env bash
# Builds the real Kubernetes API server and etcd that `make k8s-check` runs the chart against,
# from the Go module proxy, into $PHILOS_K8S_BIN (default ~/.cache/philos/k8s). Both are pinned
# by the go.mod/go.sum beside this script (apiserver/: k8s.io/kubernetes with its staging
# modules replaced by their published versions, since its own go.mod points them at local
# paths; etcd/: go.etcd.io/etcd/server/v3). A second run with the Go build cache is quick.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${PHILOS_K8S_BIN:-$HOME/.cache/philos/k8s}"
mkdir -p "$out"
build() {  # build <module dir> <package> <binary>
  if [ -x "$out/$3" ] && [ "$out/$3" -nt "$here/$1/go.sum" ]; then
    echo "k8s-check: $3 is built ($out/$3)"
    return
  fi
  echo "k8s-check: building $3 (the first build takes minutes and gigabytes of memory)"
  local start=$SECONDS
  (cd "$here/$1" && go build -trimpath -o "$out/$3" "$2")
  echo "k8s-check: built $3 in $((SECONDS - start)) s"
}
build etcd go.etcd.io/etcd/server/v3 etcd
build apiserver k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
