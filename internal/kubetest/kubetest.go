// Package kubetest runs a real, local Kubernetes control plane for
// integration tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (which plays the kubelet of one fake node), all on
// free loopback ports in a temporary folder, with generated certificates.
//
// The binaries come from scripts/kube-bins.sh; their folder is passed in the
// environment variable DRNAV_KUBE_BINS. Tests get the control plane through a
// Plane declared in their package:
//
//	var plane kubetest.Plane
//
//	func TestMain(m *testing.M) { plane.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		cp := plane.Get(t) // skips when DRNAV_KUBE_BINS is unset (fails under DRNAV_REQUIRE_KUBE=1)
//		ns := cp.NewNamespace(t)
//		...
//	}
package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Names the harness gives to what it creates.
const (
	// AdminContext is the kubeconfig context of a cluster administrator
	// (client certificate in group system:masters). It is the current context.
	AdminContext = "admin"
	// RestrictedContext is the kubeconfig context of RestrictedUser, who may
	// get, list and watch pods, deployments and replicasets, and nothing else
	// (in particular not update deployments/scale).
	RestrictedContext = "restricted"
	AdminUser         = "drnav-admin"
	RestrictedUser    = "drnav-restricted"
	// RestrictedRole is the ClusterRole bound to RestrictedUser.
	RestrictedRole = "drnav-restricted"
	// FakeNodeName is the node kwok manages; pods scheduled to it become
	// Running and Ready within about a second.
	FakeNodeName = "kwok-node-0"

	// EnvBins names the folder holding the binaries (scripts/kube-bins.sh).
	EnvBins = "DRNAV_KUBE_BINS"
	// EnvRequire, set to 1, turns a missing control plane into a failure.
	EnvRequire = "DRNAV_REQUIRE_KUBE"

	serviceIP    = "10.96.0.1"
	serviceRange = "10.96.0.0/16"
	podCIDR      = "10.128.0.0/14"
)

//go:embed kwok-stages.yaml
var kwokStages []byte

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version", "/openapi*", "/metrics"]
- level: None
  resources: [{group: "coordination.k8s.io", resources: ["leases"]}]
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler", "drnav-kubetest-kwok", "system:apiserver"]
  verbs: ["get", "list", "watch"]
- level: None
  userGroups: ["system:serviceaccounts:kube-system"]
  verbs: ["get", "list", "watch"]
# Deletes carry dryRun in the body: keep the request (DeleteOptions).
- level: Request
  verbs: ["delete", "deletecollection"]
- level: Metadata
`

// Options configure Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler and kwok. Empty: $DRNAV_KUBE_BINS.
	BinDir string
	// Dir is the working folder (certificates, data, logs, kubeconfig).
	// Empty: a new temporary folder, removed by Stop.
	Dir string
	// Logf receives progress lines; nil: silent.
	Logf func(format string, args ...any)
}

// ControlPlane is a running local control plane. Its methods are safe for
// concurrent use.
type ControlPlane struct {
	dir, binDir string
	ownDir      bool
	logf        func(format string, args ...any)
	pki         *pki

	etcdPort, etcdPeerPort, apiPort, cmPort, schedPort int

	kubeconfig string
	admin      *rest.Config
	restricted *rest.Config
	client     kubernetes.Interface

	mu        sync.Mutex
	etcd      *process
	apiserver *process
	others    []*process // controller-manager, scheduler, kwok
	stopped   bool
}

// Start starts a control plane and waits until it is usable: etcd healthy,
// the API server ready, the controller-manager and scheduler healthy, the
// default ServiceAccount created and the fake node Ready. On error nothing is
// left running.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	cp := &ControlPlane{binDir: opts.BinDir, dir: opts.Dir, logf: opts.Logf}
	if cp.binDir == "" {
		cp.binDir = os.Getenv(EnvBins)
	}
	if cp.binDir == "" {
		return nil, fmt.Errorf("no binaries: set %s to the folder printed by scripts/kube-bins.sh", EnvBins)
	}
	if cp.logf == nil {
		cp.logf = func(string, ...any) {}
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if _, err := os.Stat(filepath.Join(cp.binDir, b)); err != nil {
			return nil, fmt.Errorf("control plane binaries in %s: %w (run scripts/kube-bins.sh)", cp.binDir, err)
		}
	}
	if cp.dir == "" {
		d, err := os.MkdirTemp("", "drnav-kubetest-")
		if err != nil {
			return nil, fmt.Errorf("work dir: %w", err)
		}
		cp.dir, cp.ownDir = d, true
	}
	if err := cp.start(ctx); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) path(parts ...string) string {
	return filepath.Join(append([]string{cp.dir}, parts...)...)
}

func (cp *ControlPlane) start(ctx context.Context) error {
	t0 := time.Now()
	for _, d := range []string{"logs", "etcd", "pki"} {
		if err := os.MkdirAll(cp.path(d), 0o700); err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
	}
	var err error
	if cp.pki, err = newPKI(); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	if err := cp.pki.write(cp.path("pki")); err != nil {
		return err
	}
	if err := os.WriteFile(cp.path("audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		return fmt.Errorf("audit policy: %w", err)
	}
	if err := os.WriteFile(cp.path("kwok.yaml"), kwokStages, 0o600); err != nil {
		return fmt.Errorf("kwok config: %w", err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	cp.etcdPort, cp.etcdPeerPort, cp.apiPort, cp.cmPort, cp.schedPort = ports[0], ports[1], ports[2], ports[3], ports[4]
	if err := cp.writeKubeconfigs(); err != nil {
		return err
	}

	if err := cp.startEtcd(ctx); err != nil {
		return err
	}
	cp.logf("kubetest: etcd healthy on 127.0.0.1:%d (%s)", cp.etcdPort, since(t0))
	if err := cp.StartAPIServer(ctx); err != nil {
		return err
	}
	cp.logf("kubetest: kube-apiserver ready on %s (%s)", cp.Server(), since(t0))
	if err := cp.createRBAC(ctx); err != nil {
		return err
	}
	if err := cp.startOthers(); err != nil {
		return err
	}
	if err := cp.createNode(ctx); err != nil {
		return err
	}
	if err := cp.waitComponents(ctx); err != nil {
		return err
	}
	cp.logf("kubetest: control plane usable in %s (work dir %s)", since(t0), cp.dir)
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

// freePorts reserves n distinct loopback ports by listening on port 0.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (cp *ControlPlane) bin(name string) string { return filepath.Join(cp.binDir, name) }

// Server is the API server URL.
func (cp *ControlPlane) Server() string { return "https://127.0.0.1:" + strconv.Itoa(cp.apiPort) }

// Dir is the working folder (logs are under Dir()/logs).
func (cp *ControlPlane) Dir() string { return cp.dir }

// BinDir is the folder the binaries were run from (kubectl is there too).
func (cp *ControlPlane) BinDir() string { return cp.binDir }

// Kubeconfig is the path of a kubeconfig with the contexts AdminContext
// (current) and RestrictedContext, both with namespace "default".
func (cp *ControlPlane) Kubeconfig() string { return cp.kubeconfig }

// AdminConfig is a REST config for the admin user (QPS 500).
func (cp *ControlPlane) AdminConfig() *rest.Config { return rest.CopyConfig(cp.admin) }

// RestrictedConfig is a REST config for RestrictedUser.
func (cp *ControlPlane) RestrictedConfig() *rest.Config { return rest.CopyConfig(cp.restricted) }

// Client is a clientset for the admin user.
func (cp *ControlPlane) Client() kubernetes.Interface { return cp.client }

// RestrictedClient is a new clientset for RestrictedUser.
func (cp *ControlPlane) RestrictedClient() (kubernetes.Interface, error) {
	c, err := kubernetes.NewForConfig(cp.RestrictedConfig())
	if err != nil {
		return nil, fmt.Errorf("restricted client: %w", err)
	}
	return c, nil
}

func (cp *ControlPlane) kubeconfigFor(users map[string]*keyPair, current string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubetest"] = &clientcmdapi.Cluster{
		Server:                   cp.Server(),
		CertificateAuthorityData: cp.pki.ca.certPEM,
	}
	for name, kp := range users {
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: kp.certPEM, ClientKeyData: kp.keyPEM}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: name, Namespace: "default"}
	}
	cfg.CurrentContext = current
	return cfg
}

func (cp *ControlPlane) writeKubeconfigs() error {
	files := []struct {
		name    string
		users   map[string]*keyPair
		current string
	}{
		{"kubeconfig", map[string]*keyPair{AdminContext: &cp.pki.admin, RestrictedContext: &cp.pki.restricted}, AdminContext},
		{"controller-manager.kubeconfig", map[string]*keyPair{"cm": &cp.pki.controller}, "cm"},
		{"scheduler.kubeconfig", map[string]*keyPair{"scheduler": &cp.pki.scheduler}, "scheduler"},
		{"kwok.kubeconfig", map[string]*keyPair{"kwok": &cp.pki.kwok}, "kwok"},
	}
	for _, f := range files {
		cfg := cp.kubeconfigFor(f.users, f.current)
		if err := clientcmd.WriteToFile(*cfg, cp.path(f.name)); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
		if f.name != "kubeconfig" {
			continue
		}
		cp.kubeconfig = cp.path(f.name)
		for ctxName, dst := range map[string]**rest.Config{AdminContext: &cp.admin, RestrictedContext: &cp.restricted} {
			rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, ctxName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
			if err != nil {
				return fmt.Errorf("rest config %s: %w", ctxName, err)
			}
			rc.QPS, rc.Burst = 500, 1000
			*dst = rc
		}
	}
	c, err := kubernetes.NewForConfig(cp.admin)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	cp.client = c
	return nil
}

func (cp *ControlPlane) startEtcd(ctx context.Context) error {
	client := "http://127.0.0.1:" + strconv.Itoa(cp.etcdPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(cp.etcdPeerPort)
	p, err := startProcess("etcd", cp.bin("etcd"), []string{
		"--name=kubetest",
		"--data-dir=" + cp.path("etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=kubetest=" + peer,
		"--unsafe-no-fsync",
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	}, cp.path("logs"))
	if err != nil {
		return err
	}
	cp.mu.Lock()
	cp.etcd = p
	cp.mu.Unlock()
	return waitFor(ctx, "etcd health", p, answersOK(&http.Client{Timeout: 2 * time.Second}, client+"/health"))
}

// answersOK is a check for waitFor: a GET of url answers 200 OK.
func answersOK(hc *http.Client, url string) func() error {
	return func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

func (cp *ControlPlane) apiserverArgs() []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(cp.etcdPort),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(cp.apiPort),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + cp.path("pki", "apiserver.crt"),
		"--tls-private-key-file=" + cp.path("pki", "apiserver.key"),
		"--client-ca-file=" + cp.path("pki", "ca.crt"),
		"--service-account-key-file=" + cp.path("pki", "sa.pub"),
		"--service-account-signing-key-file=" + cp.path("pki", "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceRange,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--audit-policy-file=" + cp.path("audit-policy.yaml"),
		"--audit-log-path=" + cp.path("logs", "audit.log"),
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		"--audit-log-maxsize=0",
		"--profiling=false",
		"--max-requests-inflight=1000",
		"--max-mutating-requests-inflight=500",
		"--v=1",
	}
}

// StartAPIServer starts kube-apiserver (again, after StopAPIServer) on the
// same port and waits until /readyz answers ok. On a restart it also
// restarts the controller-manager, scheduler and kwok (client-go would keep
// them backing off for up to a minute) and waits until they act again.
func (cp *ControlPlane) StartAPIServer(ctx context.Context) error {
	cp.mu.Lock()
	if cp.stopped {
		cp.mu.Unlock()
		return errors.New("start kube-apiserver: control plane stopped")
	}
	if cp.apiserver != nil && !cp.apiserver.exited() {
		cp.mu.Unlock()
		return errors.New("start kube-apiserver: already running")
	}
	p, err := startProcess("kube-apiserver", cp.bin("kube-apiserver"), cp.apiserverArgs(), cp.path("logs"))
	if err != nil {
		cp.mu.Unlock()
		return err
	}
	cp.apiserver = p
	restart := len(cp.others) > 0
	cp.mu.Unlock()
	err = waitFor(ctx, "kube-apiserver /readyz", p, func() error {
		return cp.client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	})
	if err != nil || !restart {
		return err
	}
	// client-go backs off a lost watch for up to a minute; restart the
	// controller-manager, scheduler and kwok so the control plane is usable
	// at once. (Clients under test keep their own backoff.)
	cp.mu.Lock()
	others := cp.others
	cp.others = nil
	cp.mu.Unlock()
	for _, o := range others {
		if err := o.stop(5 * time.Second); err != nil {
			return err
		}
	}
	if err := cp.startOthers(); err != nil {
		return err
	}
	if err := cp.waitComponents(ctx); err != nil {
		return err
	}
	return cp.waitControllers(ctx)
}

// waitControllers waits until the controller-manager acts again after an
// API server restart (its watches back off for up to 30 s): a new namespace
// gets its default ServiceAccount.
func (cp *ControlPlane) waitControllers(ctx context.Context) error {
	ns, err := cp.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kubetest-probe-"}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("controller probe namespace: %w", err)
	}
	defer func() {
		_ = cp.client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), ns.Name, metav1.DeleteOptions{})
	}()
	return waitFor(ctx, "controllers after the API server restart", nil, func() error {
		_, err := cp.client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL after 10 s);
// etcd and the other components keep running.
func (cp *ControlPlane) StopAPIServer() error {
	cp.mu.Lock()
	p := cp.apiserver
	cp.apiserver = nil
	cp.mu.Unlock()
	if p == nil {
		return errors.New("stop kube-apiserver: not running")
	}
	return p.stop(10 * time.Second)
}

func (cp *ControlPlane) startOthers() error {
	cm := []string{
		"--kubeconfig=" + cp.path("controller-manager.kubeconfig"),
		"--authentication-kubeconfig=" + cp.path("controller-manager.kubeconfig"),
		"--authorization-kubeconfig=" + cp.path("controller-manager.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(cp.cmPort),
		"--leader-elect=false",
		"--service-account-private-key-file=" + cp.path("pki", "sa.key"),
		"--root-ca-file=" + cp.path("pki", "ca.crt"),
		"--cluster-signing-cert-file=" + cp.path("pki", "ca.crt"),
		"--cluster-signing-key-file=" + cp.path("pki", "ca.key"),
		"--use-service-account-credentials=true",
		"--service-cluster-ip-range=" + serviceRange,
		// The node lifecycle controller removes the not-ready taint the API
		// server puts on a new node; a long grace period keeps the fake node
		// Ready through a test's API server outage.
		"--node-monitor-grace-period=10m",
		"--kube-api-qps=300",
		"--kube-api-burst=600",
		"--v=1",
	}
	sched := []string{
		"--kubeconfig=" + cp.path("scheduler.kubeconfig"),
		"--authentication-kubeconfig=" + cp.path("scheduler.kubeconfig"),
		"--authorization-kubeconfig=" + cp.path("scheduler.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(cp.schedPort),
		"--leader-elect=false",
		"--kube-api-qps=300",
		"--kube-api-burst=600",
		"--v=1",
	}
	kwok := []string{
		"--kubeconfig=" + cp.path("kwok.kubeconfig"),
		"--config=" + cp.path("kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=" + podCIDR,
		"--node-ip=127.0.0.1",
	}
	for _, c := range []struct {
		name string
		args []string
	}{{"kube-controller-manager", cm}, {"kube-scheduler", sched}, {"kwok", kwok}} {
		p, err := startProcess(c.name, cp.bin(c.name), c.args, cp.path("logs"))
		if err != nil {
			return err
		}
		cp.mu.Lock()
		cp.others = append(cp.others, p)
		cp.mu.Unlock()
	}
	return nil
}

func (cp *ControlPlane) createRBAC(ctx context.Context) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: RestrictedRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	if _, err := cp.client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ClusterRole %s: %w", RestrictedRole, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: RestrictedRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RestrictedRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: RestrictedUser}},
	}
	if _, err := cp.client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ClusterRoleBinding %s: %w", RestrictedRole, err)
	}
	return nil
}

func (cp *ControlPlane) createNode(ctx context.Context) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("1Ti"),
		corev1.ResourcePods:   resource.MustParse("100000"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": FakeNodeName, "kubernetes.io/os": "linux"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := cp.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", FakeNodeName, err)
	}
	return nil
}

// waitComponents waits for the controller-manager and scheduler /healthz,
// the default ServiceAccount and the fake node Ready.
func (cp *ControlPlane) waitComponents(ctx context.Context) error {
	cp.mu.Lock()
	cm, sched, kwok := cp.others[0], cp.others[1], cp.others[2]
	cp.mu.Unlock()
	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed serving certs of the components
	}}
	healthz := func(port int) func() error {
		return answersOK(insecure, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz")
	}
	if err := waitFor(ctx, "kube-controller-manager /healthz", cm, healthz(cp.cmPort)); err != nil {
		return err
	}
	if err := waitFor(ctx, "kube-scheduler /healthz", sched, healthz(cp.schedPort)); err != nil {
		return err
	}
	if err := waitFor(ctx, "default ServiceAccount", cm, func() error {
		_, err := cp.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	return waitFor(ctx, "node "+FakeNodeName+" Ready", kwok, func() error {
		n, err := cp.client.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errors.New("not Ready")
	})
}

// waitFor polls check every 50 ms until it succeeds, the context ends or the
// process p exits.
func waitFor(ctx context.Context, what string, p *process, check func() error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("waiting for %s: %w", what, p.exitError())
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: %v (last error: %v)", what, ctx.Err(), last)
			if p != nil {
				msg += fmt.Sprintf("; last lines of %s:\n%s", p.logPath, p.logTail(20))
			}
			return errors.New(msg)
		case <-tick.C:
		}
	}
}

// Stop stops every component (scheduler, controller-manager and kwok first,
// then the API server, then etcd), waits for them to exit and removes the
// temporary folder it created. Calling it again does nothing.
func (cp *ControlPlane) Stop() error {
	cp.mu.Lock()
	if cp.stopped {
		cp.mu.Unlock()
		return nil
	}
	cp.stopped = true
	others, api, etcd := cp.others, cp.apiserver, cp.etcd
	cp.others, cp.apiserver, cp.etcd = nil, nil, nil
	cp.mu.Unlock()

	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, p := range others {
		wg.Go(func() {
			if err := p.stop(5 * time.Second); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, p := range []*process{api, etcd} {
		if err := p.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if cp.ownDir && os.Getenv("DRNAV_KUBETEST_KEEP") == "" {
		if err := os.RemoveAll(cp.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", cp.dir, err))
		}
	}
	return errors.Join(errs...)
}

// PIDs lists the process ids of the running components.
func (cp *ControlPlane) PIDs() []int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var pids []int
	for _, p := range append([]*process{cp.etcd, cp.apiserver}, cp.others...) {
		if p != nil && !p.exited() {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}

// CACertPool is the pool of the cluster CA, for clients built by hand.
func (cp *ControlPlane) CACertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(cp.pki.ca.cert)
	return pool
}

// RSS is the resident memory of the running components, in bytes, read from
// /proc (for reports; 0 for a process that ended meanwhile).
func (cp *ControlPlane) RSS() int64 {
	var total int64
	for _, pid := range cp.PIDs() {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					total += kb << 10
				}
			}
		}
	}
	return total
}
