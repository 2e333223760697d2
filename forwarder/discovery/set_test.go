package discovery

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	promdisc "github.com/prometheus/prometheus/discovery"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMetricsRegisteredOnce: two sets of the same mechanisms on one
// registry (a reload) register their metrics once, without error.
func TestMetricsRegisteredOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	cfgs := []promdisc.Config{dnsConf("A", 80, "x.invalid"), dnsConf("SRV", 0, "y.invalid")}
	for range 2 {
		s, err := Start(context.Background(), "src", cfgs, Options{Metrics: m, DNS: sdtestUnreachable()})
		if err != nil {
			t.Fatal(err)
		}
		s.Stop()
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// TestGate: the first failure is logged, further ones only after every;
// a recovery is logged once after a logged failure.
func TestGate(t *testing.T) {
	clk := clockwork.NewFakeClock()
	g := &gate{clock: clk, every: 10 * time.Minute}
	steps := []struct {
		do   string
		want bool
	}{
		{"success", false}, {"failure", true}, {"failure", false}, {"success", true}, {"success", false},
		{"failure", false}, // flapping within every: quiet
		{"success", false}, // and its recovery too: no failure was logged
		{"advance", false}, {"failure", true}, {"failure", false},
	}
	for i, s := range steps {
		var got bool
		switch s.do {
		case "failure":
			got = g.failure()
		case "success":
			got = g.success()
		case "advance":
			clk.Advance(10 * time.Minute)
			continue
		}
		if got != s.want {
			t.Errorf("step %d (%s) = %v, want %v", i, s.do, got, s.want)
		}
	}
}
