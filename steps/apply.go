package steps

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Manifest is one object read from a manifest file.
type Manifest struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Source     string // file (and document number)
	JSON       []byte
}

type manifestHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// ReadManifests reads a YAML/JSON file (multi-document, List kinds
// flattened) or every *.yaml, *.yml and *.json file of a folder (not
// recursive, in name order, as kubectl apply -f dir).
func ReadManifests(path string) ([]Manifest, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("manifests: %w", err)
		}
		files = files[:0]
		for _, e := range ents {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("manifests: no .yaml, .yml or .json files in %s", path)
		}
	}
	var out []Manifest
	for _, f := range files {
		ms, err := readManifestFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("manifests: no objects found in %s", path)
	}
	return out, nil
}

func readManifestFile(file string) ([]Manifest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	defer f.Close()
	rd := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []Manifest
	for doc := 1; ; doc++ {
		raw, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		js, err := utilyaml.ToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		ms, err := splitManifest(js, fmt.Sprintf("%s#%d", file, doc))
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

func splitManifest(js []byte, src string) ([]Manifest, error) {
	var h manifestHead
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if strings.HasSuffix(h.Kind, "List") && h.Items != nil {
		var out []Manifest
		for i, it := range h.Items {
			ms, err := splitManifest(it, fmt.Sprintf("%s item %d", src, i+1))
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
		return out, nil
	}
	if h.Kind == "" || h.APIVersion == "" {
		return nil, fmt.Errorf("%s: apiVersion and kind are required", src)
	}
	if h.Metadata.Name == "" {
		return nil, fmt.Errorf("%s: %s has no metadata.name", src, h.Kind)
	}
	return []Manifest{{APIVersion: h.APIVersion, Kind: h.Kind, Name: h.Metadata.Name, Namespace: h.Metadata.Namespace, Source: src, JSON: js}}, nil
}

// decodeStrict unmarshals JSON into an apply configuration, refusing unknown
// fields (a typo in a manifest is an error, as with kubectl's strict validation).
func decodeStrict[C any](js []byte) (*C, error) {
	c := new(C)
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	return c, nil
}

func applyOne[C any, T any](ctx context.Context, js []byte, fn func(context.Context, *C, metav1.ApplyOptions) (T, error), opts metav1.ApplyOptions) error {
	c, err := decodeStrict[C](js)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	_, err = fn(ctx, c, opts)
	return err
}

// typedApply server-side applies one object of a built-in kind with the
// typed clientset. It serves providers without a REST config: the drill
// simulator's fake clientsets.
func typedApply(ctx context.Context, k kubeTarget, m Manifest, opts metav1.ApplyOptions) error {
	ns := m.Namespace
	if ns == "" {
		ns = k.ns
	}
	cs := k.cs
	switch m.APIVersion + "/" + m.Kind {
	case "v1/Namespace":
		return applyOne(ctx, m.JSON, cs.CoreV1().Namespaces().Apply, opts)
	case "v1/ConfigMap":
		return applyOne(ctx, m.JSON, cs.CoreV1().ConfigMaps(ns).Apply, opts)
	case "v1/Secret":
		return applyOne(ctx, m.JSON, cs.CoreV1().Secrets(ns).Apply, opts)
	case "v1/Service":
		return applyOne(ctx, m.JSON, cs.CoreV1().Services(ns).Apply, opts)
	case "v1/ServiceAccount":
		return applyOne(ctx, m.JSON, cs.CoreV1().ServiceAccounts(ns).Apply, opts)
	case "v1/PersistentVolumeClaim":
		return applyOne(ctx, m.JSON, cs.CoreV1().PersistentVolumeClaims(ns).Apply, opts)
	case "v1/Pod":
		return applyOne(ctx, m.JSON, cs.CoreV1().Pods(ns).Apply, opts)
	case "apps/v1/Deployment":
		return applyOne(ctx, m.JSON, cs.AppsV1().Deployments(ns).Apply, opts)
	case "apps/v1/StatefulSet":
		return applyOne(ctx, m.JSON, cs.AppsV1().StatefulSets(ns).Apply, opts)
	case "apps/v1/DaemonSet":
		return applyOne(ctx, m.JSON, cs.AppsV1().DaemonSets(ns).Apply, opts)
	case "batch/v1/Job":
		return applyOne(ctx, m.JSON, cs.BatchV1().Jobs(ns).Apply, opts)
	case "batch/v1/CronJob":
		return applyOne(ctx, m.JSON, cs.BatchV1().CronJobs(ns).Apply, opts)
	case "networking.k8s.io/v1/NetworkPolicy":
		return applyOne(ctx, m.JSON, cs.NetworkingV1().NetworkPolicies(ns).Apply, opts)
	case "networking.k8s.io/v1/Ingress":
		return applyOne(ctx, m.JSON, cs.NetworkingV1().Ingresses(ns).Apply, opts)
	case "rbac.authorization.k8s.io/v1/Role":
		return applyOne(ctx, m.JSON, cs.RbacV1().Roles(ns).Apply, opts)
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return applyOne(ctx, m.JSON, cs.RbacV1().RoleBindings(ns).Apply, opts)
	case "policy/v1/PodDisruptionBudget":
		return applyOne(ctx, m.JSON, cs.PolicyV1().PodDisruptionBudgets(ns).Apply, opts)
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return applyOne(ctx, m.JSON, cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Apply, opts)
	}
	return fmt.Errorf("kind %s (apiVersion %s) is not one the drill simulator knows", m.Kind, m.APIVersion)
}

// objectName is how kubectl names an object in its output: kind.group/name
// in lower case, the group left out for the core group.
func objectName(m Manifest) string {
	kind := strings.ToLower(m.Kind)
	if gv, err := schema.ParseGroupVersion(m.APIVersion); err == nil && gv.Group != "" {
		kind += "." + gv.Group
	}
	return kind + "/" + m.Name
}

// applyOrder is the order objects are applied in: namespaces first, then
// CustomResourceDefinitions (so the objects and custom resources after them
// find what they need), then everything else in file order.
func applyOrder(m Manifest) int {
	switch {
	case m.Kind == "Namespace" && m.APIVersion == "v1":
		return 0
	case m.Kind == "CustomResourceDefinition" && strings.HasPrefix(m.APIVersion, apiextensionsGroup+"/"):
		return 1
	}
	return 2
}

func kubeApply(ctx context.Context, r *Run, k kubeTarget, path string) error {
	ms, err := ReadManifests(path)
	if err != nil {
		return fmt.Errorf("apply %s: %w", path, err)
	}
	sort.SliceStable(ms, func(i, j int) bool { return applyOrder(ms[i]) < applyOrder(ms[j]) })
	apply := func(m Manifest) (string, error) {
		return "", typedApply(ctx, k, m, metav1.ApplyOptions{FieldManager: FieldManager, Force: false, DryRun: k.dryRunOpt()})
	}
	if k.restConfig != nil {
		rc, err := k.restConfig()
		if err != nil {
			return fmt.Errorf("apply %s: %w", path, err)
		}
		b, err := newBuilderApplier(rc, k)
		if err != nil {
			return fmt.Errorf("apply %s: %w", path, err)
		}
		b.crds = crdKinds(ms)
		apply = func(m Manifest) (string, error) { return b.apply(ctx, m) }
	}
	var failed []string
	for _, m := range ms {
		obj := objectName(m)
		note, err := apply(m)
		if err != nil {
			msg := describeApplyErr(obj, err)
			r.print(Stderr, fmt.Sprintf("%s: %s (%s)", obj, msg, m.Source))
			failed = append(failed, obj+": "+msg)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if note != "" {
			r.print(Stdout, obj+" "+note)
			continue
		}
		r.print(Stdout, fmt.Sprintf("%s serverside-applied%s", obj, dryNote(k)))
	}
	if len(failed) > 0 {
		return fmt.Errorf("apply %s: %d of %d objects failed: %s", path, len(failed), len(ms), strings.Join(failed, "; "))
	}
	return nil
}

func describeApplyErr(obj string, err error) string {
	if apierrors.IsConflict(err) {
		return fmt.Sprintf("field ownership conflict, not forced: %s — another field manager owns these fields; agree with its owner or apply with kubectl --server-side --force-conflicts", apiMessage(err))
	}
	return apiMessage(err)
}

func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}
