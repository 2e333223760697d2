package kubernetes

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/discovery"
)

// metrics are Prometheus' prometheus_sd_kubernetes_* metrics.
type metrics struct {
	events   *prometheus.CounterVec
	failures prometheus.Counter
	reg      discovery.MetricRegisterer
}

var _ discovery.DiscovererMetrics = (*metrics)(nil)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: discovery.KubernetesMetricsNamespace,
			Name:      "events_total",
			Help:      "The number of Kubernetes events handled.",
		}, []string{"role", "event"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: discovery.KubernetesMetricsNamespace,
			Name:      "failures_total",
			Help:      "The number of failed WATCH/LIST requests.",
		}),
	}
	m.reg = discovery.NewMetricRegisterer(reg, []prometheus.Collector{m.events, m.failures})
	for _, r := range []Role{RoleEndpointSlice, RoleEndpoint, RoleNode, RolePod, RoleService, RoleIngress} {
		for _, e := range []string{"add", "delete", "update"} {
			m.events.WithLabelValues(string(r), e)
		}
	}
	return m
}

func (m *metrics) Register() error { return m.reg.RegisterMetrics() }
func (m *metrics) Unregister()     { m.reg.UnregisterMetrics() }
