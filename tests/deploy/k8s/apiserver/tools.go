//go:build tools

// Package tools pins the Kubernetes API server that `make k8s-check` builds.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
