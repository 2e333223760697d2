package kubernetes

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/discovery"
)

// Role is the kind of object whose targets a config discovers.
type Role string

// The roles, as Prometheus names them.
const (
	RoleNode          Role = "node"
	RolePod           Role = "pod"
	RoleService       Role = "service"
	RoleEndpoint      Role = "endpoints"
	RoleEndpointSlice Role = "endpointslice"
	RoleIngress       Role = "ingress"
)

// UnmarshalYAML accepts the six roles only, with Prometheus' error.
func (r *Role) UnmarshalYAML(unmarshal func(any) error) error {
	if err := unmarshal((*string)(r)); err != nil {
		return err
	}
	switch *r {
	case RoleNode, RolePod, RoleService, RoleEndpoint, RoleEndpointSlice, RoleIngress:
		return nil
	default:
		return fmt.Errorf("unknown Kubernetes SD role %q", *r)
	}
}

func (r Role) String() string { return string(r) }

// SDConfig is one kubernetes_sd_configs item: Prometheus' keys, defaults
// and validation.
type SDConfig struct {
	APIServer          config.URL              `yaml:"api_server,omitempty"`
	Role               Role                    `yaml:"role"`
	KubeConfig         string                  `yaml:"kubeconfig_file"`
	HTTPClientConfig   config.HTTPClientConfig `yaml:",inline"`
	NamespaceDiscovery NamespaceDiscovery      `yaml:"namespaces,omitempty"`
	Selectors          []SelectorConfig        `yaml:"selectors,omitempty"`
	AttachMetadata     AttachMetadataConfig    `yaml:"attach_metadata,omitempty"`

	// inCluster locates the pod's ServiceAccount; zero: the real one.
	inCluster inClusterEnv
}

// NamespaceDiscovery limits the namespaces watched (all when empty).
type NamespaceDiscovery struct {
	IncludeOwnNamespace bool     `yaml:"own_namespace"`
	Names               []string `yaml:"names"`
}

// SelectorConfig is a label and field selector the API server applies to
// the objects of one role.
type SelectorConfig struct {
	Role  Role   `yaml:"role,omitempty"`
	Label string `yaml:"label,omitempty"`
	Field string `yaml:"field,omitempty"`
}

// AttachMetadataConfig adds the labels of the node a target runs on, of
// its namespace, and of the deployment, job or cronjob owning its pod.
type AttachMetadataConfig struct {
	Node              bool `yaml:"node"`
	Namespace         bool `yaml:"namespace"`
	PodMetadataConfig `yaml:",inline"`
}

// PodMetadataConfig: the controllers of a pod whose names are attached.
type PodMetadataConfig struct {
	Deployment bool `yaml:"deployment"`
	Job        bool `yaml:"job"`
	CronJob    bool `yaml:"cronjob"`
}

// allowedSelectors are the selector roles each role's watches take.
var allowedSelectors = map[Role][]string{
	RolePod:           {string(RolePod), string(RoleNode)},
	RoleService:       {string(RoleService)},
	RoleEndpointSlice: {string(RolePod), string(RoleService), string(RoleEndpointSlice)},
	RoleEndpoint:      {string(RolePod), string(RoleService), string(RoleEndpoint)},
	RoleNode:          {string(RoleNode)},
	RoleIngress:       {string(RoleIngress)},
}

// UnmarshalYAML sets Prometheus' defaults, decodes, and validates as
// Prometheus does, with its messages.
func (c *SDConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = SDConfig{HTTPClientConfig: config.DefaultHTTPClientConfig}
	type plain SDConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.validate()
}

func (c *SDConfig) validate() error {
	if c.Role == "" {
		return errors.New("role missing (one of: pod, service, endpoints, endpointslice, node, ingress)")
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	defaultHTTP := reflect.DeepEqual(c.HTTPClientConfig, config.DefaultHTTPClientConfig)
	switch {
	case c.APIServer.URL != nil && c.KubeConfig != "":
		return errors.New("cannot use 'kubeconfig_file' and 'api_server' simultaneously")
	case c.KubeConfig != "" && !defaultHTTP:
		return errors.New("cannot use a custom HTTP client configuration together with 'kubeconfig_file'")
	case c.APIServer.URL == nil && !defaultHTTP:
		return errors.New("to use custom HTTP client configuration please provide the 'api_server' URL explicitly")
	case c.APIServer.URL != nil && c.NamespaceDiscovery.IncludeOwnNamespace:
		return errors.New("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously")
	case c.KubeConfig != "" && c.NamespaceDiscovery.IncludeOwnNamespace:
		return errors.New("cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously")
	}
	seen := map[Role]bool{}
	for _, s := range c.Selectors {
		if seen[s.Role] {
			return fmt.Errorf("duplicated selector role: %s", s.Role)
		}
		seen[s.Role] = true
		allowed, ok := allowedSelectors[c.Role]
		if !ok {
			return fmt.Errorf("invalid role: %q, expecting one of: pod, service, endpoints, endpointslice, node or ingress", c.Role)
		}
		if !slices.Contains(allowed, string(s.Role)) {
			return fmt.Errorf("%s role supports only %s selectors", c.Role, strings.Join(allowed, ", "))
		}
		if err := checkFieldSelector(s.Field); err != nil {
			return err
		}
		if err := checkLabelSelector(s.Label); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalYAML starts from no namespaces, as Prometheus does.
func (n *NamespaceDiscovery) UnmarshalYAML(unmarshal func(any) error) error {
	*n = NamespaceDiscovery{}
	type plain NamespaceDiscovery
	return unmarshal((*plain)(n))
}

// Name is the mechanism's name: its metrics are prometheus_sd_kubernetes_*.
func (*SDConfig) Name() string { return "kubernetes" }

// SetDirectory makes relative file paths relative to dir.
func (c *SDConfig) SetDirectory(dir string) {
	c.HTTPClientConfig.SetDirectory(dir)
	c.KubeConfig = config.JoinDir(dir, c.KubeConfig)
}

// NewDiscovererMetrics returns the mechanism's metrics, named as
// Prometheus names them.
func (*SDConfig) NewDiscovererMetrics(reg prometheus.Registerer, _ discovery.RefreshMetricsInstantiator) discovery.DiscovererMetrics {
	return newMetrics(reg)
}

// NewDiscoverer returns the discoverer of c; it connects when run.
func (c *SDConfig) NewDiscoverer(o discovery.DiscovererOptions) (discovery.Discoverer, error) {
	m, ok := o.Metrics.(*metrics)
	if !ok {
		return nil, errors.New("kubernetes_sd: invalid discovery metrics type")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, own, err := newClient(c)
	if err != nil {
		return nil, err
	}
	return newDiscovery(c, cl, own, log, m), nil
}

var _ discovery.Config = (*SDConfig)(nil)
