package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NewNamespace creates a namespace with a unique name derived from the test
// name, waits until its default ServiceAccount exists (pods are refused
// before that), and deletes it when the test ends.
func (cp *ControlPlane) NewNamespace(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := namespaceName(tb.Name())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"drnav-kubetest": "true"}}}
	if _, err := cp.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create namespace %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := cp.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !cp.isStopped() {
			tb.Logf("delete namespace %s: %v", name, err)
		}
	})
	err := waitFor(ctx, "ServiceAccount default in "+name, nil, func() error {
		_, err := cp.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return name
}

func (cp *ControlPlane) isStopped() bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.stopped
}

// namespaceName turns a test name into a DNS label with a random suffix.
func namespaceName(testName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) > 48 {
		base = strings.TrimRight(base[:48], "-")
	}
	if base == "" {
		base = "test"
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return base + "-" + hex.EncodeToString(suffix[:])
}

// AuditEvent is one request the API server recorded (audit level Metadata).
// Reads by the control plane's own components, health checks and leases are
// not recorded; every other request is, including every mutating one.
type AuditEvent struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		APIVersion  string `json:"apiVersion"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	// RequestObject is recorded for deletes only (their dryRun is in the body).
	RequestObject *struct {
		DryRun []string `json:"dryRun"`
	} `json:"requestObject"`
}

// Mutating reports whether the request asked to change something.
func (e AuditEvent) Mutating() bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// DryRun reports whether the request carried dryRun=All (in the query, or
// in the DeleteOptions of a delete).
func (e AuditEvent) DryRun() bool {
	if e.RequestObject != nil && slices.Contains(e.RequestObject.DryRun, "All") {
		return true
	}
	u, err := url.ParseRequestURI(e.RequestURI)
	if err != nil {
		return false
	}
	for _, v := range u.Query()["dryRun"] {
		if v == "All" {
			return true
		}
	}
	return false
}

// Code is the HTTP status of the response (0 when unknown).
func (e AuditEvent) Code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// Namespace and Resource describe the object, when there is one.
func (e AuditEvent) Namespace() string {
	if e.ObjectRef == nil {
		return ""
	}
	return e.ObjectRef.Namespace
}

// Resource is "deployments", "deployments/scale", "pods", … ("" for
// non-resource requests).
func (e AuditEvent) Resource() string {
	if e.ObjectRef == nil {
		return ""
	}
	if e.ObjectRef.Subresource != "" {
		return e.ObjectRef.Resource + "/" + e.ObjectRef.Subresource
	}
	return e.ObjectRef.Resource
}

func (e AuditEvent) String() string {
	return fmt.Sprintf("%s %s %s by %s (%d)", e.Verb, e.Resource(), e.RequestURI, e.User.Username, e.Code())
}

// AuditLog reads every event the API server has written so far (the log is
// written synchronously, before the response is sent).
func (cp *ControlPlane) AuditLog() ([]AuditEvent, error) {
	data, err := os.ReadFile(cp.path("logs", "audit.log"))
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	var events []AuditEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e AuditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			// A line being written right now; everything before it is complete.
			if !bytes.HasSuffix(data, []byte("\n")) {
				break
			}
			return nil, fmt.Errorf("audit log line %q: %w", truncate(string(line), 200), err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan audit log: %w", err)
	}
	return events, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
