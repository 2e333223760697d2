package kubernetes

// The API objects, decoded from the API server's JSON into only the fields
// the roles read: a pod here keeps its names, addresses, ports and
// metadata, not its volumes, env or probes.

type objectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	UID             string            `json:"uid"`
	ResourceVersion string            `json:"resourceVersion"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	OwnerReferences []ownerReference  `json:"ownerReferences"`
}

type ownerReference struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller *bool  `json:"controller"`
}

// controller is the owner reference marked controller, or nil.
func (m *objectMeta) controller() *ownerReference {
	for i, r := range m.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return &m.OwnerReferences[i]
		}
	}
	return nil
}

// object is any decoded API object.
type object interface {
	meta() *objectMeta
}

type objectReference struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

type pod struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		NodeName       string      `json:"nodeName"`
		Containers     []container `json:"containers"`
		InitContainers []container `json:"initContainers"`
	} `json:"spec"`
	Status struct {
		Phase      string `json:"phase"`
		PodIP      string `json:"podIP"`
		HostIP     string `json:"hostIP"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		ContainerStatuses     []containerStatus `json:"containerStatuses"`
		InitContainerStatuses []containerStatus `json:"initContainerStatuses"`
	} `json:"status"`
}

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int32  `json:"containerPort"`
		Protocol      string `json:"protocol"`
	} `json:"ports"`
}

type containerStatus struct {
	Name        string `json:"name"`
	ContainerID string `json:"containerID"`
}

type endpoints struct {
	Metadata objectMeta `json:"metadata"`
	Subsets  []struct {
		Addresses         []endpointAddress `json:"addresses"`
		NotReadyAddresses []endpointAddress `json:"notReadyAddresses"`
		Ports             []endpointPort    `json:"ports"`
	} `json:"subsets"`
}

type endpointAddress struct {
	IP        string           `json:"ip"`
	Hostname  string           `json:"hostname"`
	NodeName  *string          `json:"nodeName"`
	TargetRef *objectReference `json:"targetRef"`
}

type endpointPort struct {
	Name     string `json:"name"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
}

type endpointSlice struct {
	Metadata    objectMeta `json:"metadata"`
	AddressType string     `json:"addressType"`
	Endpoints   []struct {
		Addresses  []string `json:"addresses"`
		Conditions struct {
			Ready       *bool `json:"ready"`
			Serving     *bool `json:"serving"`
			Terminating *bool `json:"terminating"`
		} `json:"conditions"`
		Hostname           *string           `json:"hostname"`
		TargetRef          *objectReference  `json:"targetRef"`
		DeprecatedTopology map[string]string `json:"deprecatedTopology"`
		NodeName           *string           `json:"nodeName"`
		Zone               *string           `json:"zone"`
	} `json:"endpoints"`
	Ports []sliceEndpointPort `json:"ports"`
}

type sliceEndpointPort struct {
	Name        *string `json:"name"`
	Protocol    *string `json:"protocol"`
	Port        *int32  `json:"port"`
	AppProtocol *string `json:"appProtocol"`
}

type service struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Ports []struct {
			Name     string `json:"name"`
			Protocol string `json:"protocol"`
			Port     int32  `json:"port"`
		} `json:"ports"`
		ClusterIP      string   `json:"clusterIP"`
		Type           string   `json:"type"`
		ExternalName   string   `json:"externalName"`
		LoadBalancerIP string   `json:"loadBalancerIP"`
		IPFamilies     []string `json:"ipFamilies"`
		IPFamilyPolicy *string  `json:"ipFamilyPolicy"`
	} `json:"spec"`
	Status struct {
		LoadBalancer struct {
			Ingress []struct {
				IP string `json:"ip"`
			} `json:"ingress"`
		} `json:"loadBalancer"`
	} `json:"status"`
}

type node struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		ProviderID string `json:"providerID"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
		DaemonEndpoints struct {
			KubeletEndpoint struct {
				Port int32 `json:"Port"`
			} `json:"kubeletEndpoint"`
		} `json:"daemonEndpoints"`
	} `json:"status"`
}

type ingress struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		IngressClassName *string `json:"ingressClassName"`
		TLS              []struct {
			Hosts []string `json:"hosts"`
		} `json:"tls"`
		Rules []struct {
			Host string `json:"host"`
			HTTP *struct {
				Paths []struct {
					Path string `json:"path"`
				} `json:"paths"`
			} `json:"http"`
		} `json:"rules"`
	} `json:"spec"`
}

// metaOnly is an object of which only the metadata is read: namespaces,
// and the replica sets and jobs that own pods.
type metaOnly struct {
	Metadata objectMeta `json:"metadata"`
}

func (o *pod) meta() *objectMeta           { return &o.Metadata }
func (o *endpoints) meta() *objectMeta     { return &o.Metadata }
func (o *endpointSlice) meta() *objectMeta { return &o.Metadata }
func (o *service) meta() *objectMeta       { return &o.Metadata }
func (o *node) meta() *objectMeta          { return &o.Metadata }
func (o *ingress) meta() *objectMeta       { return &o.Metadata }
func (o *metaOnly) meta() *objectMeta      { return &o.Metadata }

// kind is one watched resource.
type kind int

const (
	kindPod kind = iota
	kindEndpoints
	kindEndpointSlice
	kindService
	kindNode
	kindIngress
	kindNamespace
	kindReplicaSet
	kindJob
	numKinds
)

// kinds: where each resource is served and how to decode one.
var kinds = [numKinds]struct {
	path       string // API group path
	plural     string
	namespaced bool
	decode     func() object
}{
	kindPod:           {"/api/v1", "pods", true, func() object { return &pod{} }},
	kindEndpoints:     {"/api/v1", "endpoints", true, func() object { return &endpoints{} }},
	kindEndpointSlice: {"/apis/discovery.k8s.io/v1", "endpointslices", true, func() object { return &endpointSlice{} }},
	kindService:       {"/api/v1", "services", true, func() object { return &service{} }},
	kindNode:          {"/api/v1", "nodes", false, func() object { return &node{} }},
	kindIngress:       {"/apis/networking.k8s.io/v1", "ingresses", true, func() object { return &ingress{} }},
	kindNamespace:     {"/api/v1", "namespaces", false, func() object { return &metaOnly{} }},
	kindReplicaSet:    {"/apis/apps/v1", "replicasets", true, func() object { return &metaOnly{} }},
	kindJob:           {"/apis/batch/v1", "jobs", true, func() object { return &metaOnly{} }},
}

func (k kind) String() string { return kinds[k].plural }

// key is the store key of o: namespace/name, or name when cluster-scoped.
func key(o object) string {
	m := o.meta()
	if m.Namespace == "" {
		return m.Name
	}
	return m.Namespace + "/" + m.Name
}
