//go:build tools

// Package tools pins the etcd server that `make k8s-check` builds for the API server.
package tools

import _ "go.etcd.io/etcd/server/v3"
