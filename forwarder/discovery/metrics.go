package discovery

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	promdisc "github.com/prometheus/prometheus/discovery"
)

// Metrics holds the discovery metrics of one registry: Prometheus'
// prometheus_sd_refresh_* vectors and each mechanism's own, created and
// registered the first time a mechanism is used and kept for the registry's
// life. Prometheus' DiscovererMetrics must be registered exactly once per
// registry; a reload that starts the same mechanism again reuses them.
type Metrics struct {
	reg prometheus.Registerer

	mu      sync.Mutex
	refresh promdisc.RefreshMetricsManager
	mech    map[string]promdisc.DiscovererMetrics
}

// NewMetrics returns the discovery metrics of reg; nothing is registered
// until a mechanism is used.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{reg: reg, mech: map[string]promdisc.DiscovererMetrics{}}
}

// forConfig returns the registered metrics of c's mechanism.
func (m *Metrics) forConfig(c promdisc.Config) (promdisc.DiscovererMetrics, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refresh == nil {
		r := promdisc.NewRefreshMetrics(m.reg)
		if err := r.Register(); err != nil {
			return nil, fmt.Errorf("register refresh metrics: %w", err)
		}
		m.refresh = r
	}
	name := c.Name()
	if dm, ok := m.mech[name]; ok {
		return dm, nil
	}
	dm := c.NewDiscovererMetrics(m.reg, m.refresh)
	if err := dm.Register(); err != nil {
		return nil, fmt.Errorf("register %s_sd metrics: %w", name, err)
	}
	m.mech[name] = dm
	return dm, nil
}

// forget deletes the refresh series of one discoverer set (a source that
// is gone), as Prometheus does when a scrape job is removed.
func (m *Metrics) forget(mech, set string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refresh != nil {
		m.refresh.DeleteLabelValues(mech, set)
	}
}
