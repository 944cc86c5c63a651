package main

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/steps"
)

// kubeProvider hands out clients for "primary", "failover" or any named
// context, each built from kubectl's own flags (cli-runtime ConfigFlags) with
// only the context swapped, so --kubeconfig, --as, --token, --server … mean
// exactly what they mean to kubectl. The namespace is the config's (which
// -n overrides).
func kubeProvider(f *genericclioptions.ConfigFlags, cfg config.Config) steps.KubeProvider {
	return steps.NewKubeProviderWith(steps.KubeProviderOptions{
		Primary:      cfg.PrimaryContext,
		Failover:     cfg.FailoverContext,
		ClientConfig: clientConfigFor(f, cfg),
	})
}

func clientConfigFor(f *genericclioptions.ConfigFlags, cfg config.Config) steps.ClientConfigFor {
	return func(name string) clientcmd.ClientConfig {
		n := genericclioptions.NewConfigFlags(false)
		n.KubeConfig = f.KubeConfig
		if cfg.Kubeconfig != "" && (n.KubeConfig == nil || *n.KubeConfig == "") {
			path := cfg.Kubeconfig
			n.KubeConfig = &path
		}
		n.ClusterName, n.AuthInfoName = f.ClusterName, f.AuthInfoName
		n.APIServer, n.TLSServerName, n.Insecure = f.APIServer, f.TLSServerName, f.Insecure
		n.CertFile, n.KeyFile, n.CAFile, n.BearerToken = f.CertFile, f.KeyFile, f.CAFile, f.BearerToken
		n.Impersonate, n.ImpersonateUID, n.ImpersonateGroup = f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup
		n.ImpersonateUserExtra = f.ImpersonateUserExtra
		n.Username, n.Password, n.Timeout = f.Username, f.Password, f.Timeout
		n.DisableCompression, n.ProxyURL = f.DisableCompression, f.ProxyURL
		ctx := name
		n.Context = &ctx
		ns := cfg.Namespace
		n.Namespace = &ns
		return n.ToRawKubeConfigLoader()
	}
}
