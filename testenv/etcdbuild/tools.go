//go:build tools

// Package etcdbuild only pins the etcd server built by scripts/kube-bins.sh;
// it is never compiled.
package etcdbuild

import _ "go.etcd.io/etcd/server/v3"
