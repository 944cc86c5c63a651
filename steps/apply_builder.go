package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

const (
	apiextensionsGroup = "apiextensions.k8s.io"
	// crdWait bounds the wait for a CustomResourceDefinition applied in a
	// step to be served (established, and its kind in discovery).
	crdWait     = 60 * time.Second
	crdPollStep = 250 * time.Millisecond
)

// restGetter is what cli-runtime's resource.Builder needs from a context:
// its REST config, a discovery client cached for the step, and the REST
// mapper over it (reset once a CRD applied in the step is established).
type restGetter struct {
	cfg    *rest.Config
	disc   discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func (g *restGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }
func (g *restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.disc, nil
}
func (g *restGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.mapper, nil }

// builderApplier server-side applies objects of any kind the server serves,
// CRDs and custom resources included, through cli-runtime's resource.Builder
// (decoding, REST mapping, the client for the object's group and version).
type builderApplier struct {
	k      kubeTarget
	getter *restGetter
	// crds names, for each kind a CRD of this apply defines, that CRD.
	crds map[schema.GroupKind]string
}

func newBuilderApplier(cfg *rest.Config, k kubeTarget) (*builderApplier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	disc := memory.NewMemCacheClient(dc)
	return &builderApplier{k: k, getter: &restGetter{cfg: cfg, disc: disc, mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc)}}, nil
}

// crdKinds reads the group and kind each CustomResourceDefinition among ms
// defines.
func crdKinds(ms []Manifest) map[schema.GroupKind]string {
	out := map[schema.GroupKind]string{}
	for _, m := range ms {
		if applyOrder(m) != 1 {
			continue
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
			} `json:"spec"`
		}
		if json.Unmarshal(m.JSON, &crd) == nil && crd.Spec.Names.Kind != "" {
			out[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = m.Name
		}
	}
	return out
}

// info decodes and maps one manifest with the Builder.
func (b *builderApplier) info(m Manifest) (*resource.Info, error) {
	infos, err := resource.NewBuilder(b.getter).
		Unstructured().
		NamespaceParam(b.k.ns).DefaultNamespace().
		Stream(bytes.NewReader(m.JSON), m.Source).
		Flatten().
		Do().Infos()
	if err != nil {
		return nil, err
	}
	if len(infos) != 1 {
		return nil, fmt.Errorf("%s: decoded to %d objects, want 1", m.Source, len(infos))
	}
	return infos[0], nil
}

// apply server-side applies one manifest. The note, when not empty, replaces
// "serverside-applied" in the output (an object a dry run could not send).
func (b *builderApplier) apply(ctx context.Context, m Manifest) (note string, err error) {
	info, err := b.info(m)
	if err != nil && meta.IsNoMatchError(err) {
		gk := schema.FromAPIVersionAndKind(m.APIVersion, m.Kind).GroupKind()
		crd, ours := b.crds[gk]
		switch {
		case ours && b.k.dryRun:
			return fmt.Sprintf("not sent (dry run): its kind is defined by customresourcedefinition.%s/%s in this apply, which a dry run does not create, so the server cannot validate it yet", apiextensionsGroup, crd), nil
		case ours:
			// Applied and established above; discovery can lag a moment.
			info, err = b.waitMapped(ctx, m)
		}
	}
	if err != nil {
		return "", err
	}
	data, err := runtime.Encode(unstructured.UnstructuredJSONScheme, info.Object)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	force := false
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict, DryRun: b.k.dryRunOpt()}
	if _, err := info.Client.Patch(types.ApplyPatchType).
		NamespaceIfScoped(info.Namespace, info.Namespaced()).
		Resource(info.Mapping.Resource.Resource).
		Name(info.Name).
		VersionedParams(&opts, metav1.ParameterCodec).
		Body(data).
		Do(ctx).Get(); err != nil {
		return "", err
	}
	if applyOrder(m) == 1 && !b.k.dryRun {
		if err := b.waitEstablished(ctx, info); err != nil {
			return "", err
		}
		b.getter.mapper.Reset()
	}
	return "", nil
}

// waitMapped retries the REST mapping of a custom resource whose CRD this
// apply has just established, until discovery serves its kind.
func (b *builderApplier) waitMapped(ctx context.Context, m Manifest) (*resource.Info, error) {
	deadline := time.Now().Add(crdWait)
	for {
		b.getter.mapper.Reset()
		info, err := b.info(m)
		if err == nil || !meta.IsNoMatchError(err) || time.Now().After(deadline) {
			return info, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waiting for its kind to be served)", err)
		case <-time.After(crdPollStep):
		}
	}
}

// waitEstablished waits until the CRD just applied is Established, so the
// custom resources after it can be applied.
func (b *builderApplier) waitEstablished(ctx context.Context, info *resource.Info) error {
	deadline := time.Now().Add(crdWait)
	last := "not read yet"
	for {
		obj, err := info.Client.Get().Resource(info.Mapping.Resource.Resource).Name(info.Name).Do(ctx).Get()
		if err == nil {
			u, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return fmt.Errorf("read back %s: unexpected %T", info.Name, obj)
			}
			established, why, refused := crdEstablished(u)
			if established {
				return nil
			}
			if refused {
				return errors.New(why)
			}
			last = why
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not established within %s: %s", crdWait, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting to be established: %w (%s)", ctx.Err(), last)
		case <-time.After(crdPollStep):
		}
	}
}

// crdEstablished reads a CRD's Established condition and says why not;
// refused is set when the server will not serve it as written (its names
// clash with another CRD's).
func crdEstablished(u *unstructured.Unstructured) (established bool, why string, refused bool) {
	conds, _, err := unstructured.NestedSlice(u.Object, "status", "conditions")
	if err != nil {
		return false, err.Error(), false
	}
	why = "no Established condition yet"
	for _, c := range conds {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		typ, _ := cm["type"].(string)
		status, _ := cm["status"].(string)
		msg, _ := cm["message"].(string)
		switch {
		case typ == "Established" && status == "True":
			return true, "", false
		case typ == "Established":
			why = "Established " + status + ": " + msg
		case typ == "NamesAccepted" && status == "False":
			return false, "names not accepted: " + msg, true
		}
	}
	return false, why, false
}
