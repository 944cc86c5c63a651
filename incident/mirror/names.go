// Package mirror copies an incident's journal into Kubernetes, in every
// configured context, so the incident outlives its bastion: the events as
// ordered ConfigMap chunks, written asynchronously after the local fsync
// (which stays first and the truth on this machine), and the one-driver
// lock as a coordination.k8s.io/v1 Lease taken through client-go's leader
// election. Pull reads the longest valid copy back for a takeover from
// another machine.
//
// Chunks never interleave: every write is conditioned on the
// resourceVersion the writer last saw, a full chunk is sealed (an update,
// so conditioned too) before the next one is created, and a writer that
// finds in the cluster an event it did not write stops writing there.
package mirror

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"
)

// Labels, annotations and the data key of the objects drnav writes.
const (
	LabelApp      = "app.kubernetes.io/managed-by"
	AppName       = "drnav"
	LabelIncident = "drnav.io/incident" // ObjectBase of the incident id
	LabelChunk    = "drnav.io/chunk"    // the chunk's index, from 0
	AnnoID        = "drnav.io/incident-id"
	AnnoFirst     = "drnav.io/first-seq"
	AnnoLast      = "drnav.io/last-seq"
	AnnoSealed    = "drnav.io/sealed" // "true": the next chunk follows
	AnnoWriter    = "drnav.io/writer" // user@host:pid of the last writer
	DataKey       = "events.jsonl"
)

// DefaultChunkBytes bounds the events one ConfigMap holds (an object is at
// most 1 MiB).
const DefaultChunkBytes = 512 << 10

// ObjectBase is the name stem of an incident's objects and the value of its
// incident label: "drnav-", a readable part of the id, and a hash of the
// whole id (ids may hold characters no name allows, and labels are at most
// 63 characters).
func ObjectBase(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	readable := strings.Trim(b.String(), "-")
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:])[:10]
	if readable == "" {
		return "drnav-" + h
	}
	return "drnav-" + readable + "-" + h
}

// ChunkName is the ConfigMap holding chunk n of incident id.
func ChunkName(id string, n int) string { return fmt.Sprintf("%s-%05d", ObjectBase(id), n) }

// LeaseName is the Lease of incident id.
func LeaseName(id string) string { return ObjectBase(id) }

// Identity is the holder name of this process: user@host:pid.
func Identity(user, host string, pid int) string { return fmt.Sprintf("%s@%s:%d", user, host, pid) }

// RoleManifest is the Role (YAML) granting what the mirror needs in its
// namespace, and no more.
//
//go:embed role.yaml
var RoleManifest []byte
