package drill

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	fakeappsv1 "k8s.io/client-go/kubernetes/typed/apps/v1/fake"
	autoscalingv1 "k8s.io/client-go/kubernetes/typed/autoscaling/v1"
	fakeautoscalingv1 "k8s.io/client-go/kubernetes/typed/autoscaling/v1/fake"
	autoscalingv2 "k8s.io/client-go/kubernetes/typed/autoscaling/v2"
	fakeautoscalingv2 "k8s.io/client-go/kubernetes/typed/autoscaling/v2/fake"
	batchv1 "k8s.io/client-go/kubernetes/typed/batch/v1"
	fakebatchv1 "k8s.io/client-go/kubernetes/typed/batch/v1/fake"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	fakecoordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1/fake"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	fakecorev1 "k8s.io/client-go/kubernetes/typed/core/v1/fake"
	networkingv1 "k8s.io/client-go/kubernetes/typed/networking/v1"
	fakenetworkingv1 "k8s.io/client-go/kubernetes/typed/networking/v1/fake"
	policyv1 "k8s.io/client-go/kubernetes/typed/policy/v1"
	fakepolicyv1 "k8s.io/client-go/kubernetes/typed/policy/v1/fake"
	rbacv1 "k8s.io/client-go/kubernetes/typed/rbac/v1"
	fakerbacv1 "k8s.io/client-go/kubernetes/typed/rbac/v1/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

// simClientset is what a simulated context hands to steps and informers:
// client-go's fake typed clients for the API groups drnav uses (core, apps,
// autoscaling v1 and v2, batch, coordination, networking, policy, rbac), all
// over one object tracker with server-side apply, as client-go's
// kubernetes/fake.NewClientset builds them. It does not import
// kubernetes/fake: that package registers every API group into a scheme of
// its own at package initialisation (≈ 0.5 MB and 2-3 ms), which every drnav
// command paid, drill or not; the tracker uses client-go's scheme, which is
// initialised anyway.
//
// Any other group answers every request with errNotSimulated (see
// unsimulatedClient) instead of panicking.
type simClientset struct {
	k8stesting.Fake
	// The groups not simulated (every method not declared below) come
	// from here, and fail every request.
	kubernetes.Interface
	tracker   k8stesting.ObjectTracker
	discovery *fakediscovery.FakeDiscovery
}

var _ kubernetes.Interface = (*simClientset)(nil)

func newSimClientset() *simClientset {
	tracker := k8stesting.NewFieldManagedObjectTracker(scheme.Scheme, scheme.Codecs.UniversalDecoder(),
		applyconfigurations.NewTypeConverter(scheme.Scheme))
	cs := &simClientset{tracker: tracker, Interface: unsimulatedClient()}
	cs.discovery = &fakediscovery.FakeDiscovery{Fake: &cs.Fake}
	cs.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	// Watches are served by the cluster's own watch reactor (prepended in
	// newCluster), as every action is by its reactor.
	return cs
}

// Tracker is the object store behind every simulated client.
func (c *simClientset) Tracker() k8stesting.ObjectTracker { return c.tracker }

// IsWatchListSemanticsUnSupported tells client-go's reflector not to use
// watch-list (the tracker cannot send initial events), as the fake
// clientset does.
func (c *simClientset) IsWatchListSemanticsUnSupported() bool { return true }

func (c *simClientset) Discovery() discovery.DiscoveryInterfaces { return c.discovery }

func (c *simClientset) CoreV1() corev1.CoreV1Interface { return &fakecorev1.FakeCoreV1{Fake: &c.Fake} }
func (c *simClientset) AppsV1() appsv1.AppsV1Interface { return &fakeappsv1.FakeAppsV1{Fake: &c.Fake} }
func (c *simClientset) BatchV1() batchv1.BatchV1Interface {
	return &fakebatchv1.FakeBatchV1{Fake: &c.Fake}
}
func (c *simClientset) NetworkingV1() networkingv1.NetworkingV1Interface {
	return &fakenetworkingv1.FakeNetworkingV1{Fake: &c.Fake}
}
func (c *simClientset) AutoscalingV1() autoscalingv1.AutoscalingV1Interface {
	return &fakeautoscalingv1.FakeAutoscalingV1{Fake: &c.Fake}
}
func (c *simClientset) AutoscalingV2() autoscalingv2.AutoscalingV2Interface {
	return &fakeautoscalingv2.FakeAutoscalingV2{Fake: &c.Fake}
}
func (c *simClientset) PolicyV1() policyv1.PolicyV1Interface {
	return &fakepolicyv1.FakePolicyV1{Fake: &c.Fake}
}
func (c *simClientset) RbacV1() rbacv1.RbacV1Interface { return &fakerbacv1.FakeRbacV1{Fake: &c.Fake} }
func (c *simClientset) CoordinationV1() coordinationv1.CoordinationV1Interface {
	return &fakecoordinationv1.FakeCoordinationV1{Fake: &c.Fake}
}

// errNotSimulated is what a request to an API group the drill does not
// simulate returns.
var errNotSimulated = errors.New("the drill simulator serves only the core, apps, autoscaling, batch, coordination, networking, policy and rbac API groups")

// unsimulatedClient is a clientset whose every request fails with
// errNotSimulated (never reaching the network).
func unsimulatedClient() kubernetes.Interface {
	refuse := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, errNotSimulated)
	})
	rc, err := rest.NewRESTClient(&url.URL{Scheme: "https", Host: "drill.invalid"}, "/",
		rest.ClientContentConfig{GroupVersion: schema.GroupVersion{Version: "v1"}, Negotiator: runtime.NewClientNegotiator(scheme.Codecs.WithoutConversion(), schema.GroupVersion{Version: "v1"})},
		nil, &http.Client{Transport: refuse})
	if err != nil {
		// NewRESTClient fails only on a nil URL or codec; both are set here.
		panic(fmt.Sprintf("drill: unsimulated client: %v", err))
	}
	return kubernetes.New(rc)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
