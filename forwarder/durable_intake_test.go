package forwarder

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
	"github.com/promfwd/promfwd/sinks/hec/hectest"
)

// holdTarget serves seq_total and gauges g{i} whose value is the number of
// the answer (1, 2, 3, ...); while armed, request number holdAt is held
// unanswered until release. A source's runs never overlap, so when that
// request arrives, every earlier answer has been through the whole scrape
// job: the moment the job has acknowledged those scrapes.
type holdTarget struct {
	srv    *httptest.Server
	width  int
	holdAt int
	held   chan struct{} // closed when request holdAt arrives
	free   chan struct{} // closed to answer it

	mu     sync.Mutex
	served int // answers given
	reqs   int
}

func newHoldTarget(t *testing.T, width, holdAt int) *holdTarget {
	h := &holdTarget{width: width, holdAt: holdAt, held: make(chan struct{}), free: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.reqs++
		hold := h.reqs == h.holdAt
		h.mu.Unlock()
		if hold {
			close(h.held)
			select {
			case <-h.free:
			case <-r.Context().Done():
			}
			return // no answer: the scrape fails (or its scraper is dead)
		}
		h.mu.Lock()
		h.served++
		n := h.served
		h.mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, "# TYPE seq_total counter\nseq_total %d\n# TYPE g gauge\n", n)
		for i := range h.width {
			fmt.Fprintf(&b, "g{i=\"%d\"} %d\n", i, n)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(func() {
		h.release()
		h.srv.Close()
	})
	return h
}

func (h *holdTarget) release() {
	select {
	case <-h.free:
	default:
		close(h.free)
	}
}

func (h *holdTarget) answers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.served
}

// ddGaugeValues is the set of values of gauge g{i="0"} Datadog received.
func ddGaugeValues(rcv *ddtest.Server) map[float64]bool {
	out := map[float64]bool{}
	for _, s := range rcv.Series() {
		if s.Metric != "g" || s.Type == 1 {
			continue
		}
		for _, p := range s.Points {
			if p.Value != nil {
				out[*p.Value] = true
			}
		}
	}
	return out
}

// TestDurableSIGKILLKeepsAcknowledgedScrapes (issue 21.6): with data_dir
// set, a scrape the job has finished is on disk, whatever flush_interval
// says. The service scrapes a target every second with flush_interval at
// its 5m maximum (so nothing would be encoded for five minutes) and is
// SIGKILLed while its fourth request is held unanswered, i.e. after it
// finished scrapes 1..3. Restarted on the same data_dir and stopped
// cleanly, it must have delivered every value of those three scrapes to
// both sinks: HEC (stateless encoding) and Datadog (counter baselines in
// the checkpoint). Before the fix all three were lost: they sat in the
// runner's intake, in memory.
func TestDurableSIGKILLKeepsAcknowledgedScrapes(t *testing.T) {
	t.Parallel()
	const width, holdAt = 5, 4
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	tg := newHoldTarget(t, width, holdAt)
	hec := hectest.New(t, hectest.Options{})
	dd := ddtest.NewServer(ddtest.Options{APIKey: "dd-test-key-1"})
	t.Cleanup(dd.Close)
	cfg := writeConfig(t, dir, durConfig(dataDir, tg.srv.URL, fmt.Sprintf(`  - name: splunk
    type: hec
    url: %s
    token: %s
    flush_interval: 5m
  - name: dd
    type: datadog
    url: %s
    api_key: dd-test-key-1
    flush_interval: 5m
`, hec.URL(), hectest.DefaultToken, dd.URL())))

	c := startDurChild(t, cfg)
	select {
	case <-tg.held:
	case <-time.After(3 * runWait):
		t.Fatal("the service never reached its fourth scrape")
	}
	c.stop(t, syscall.SIGKILL)
	tg.release()
	acked := holdAt - 1 // scrapes the job had finished when request holdAt came

	c = startDurChild(t, cfg)
	pollFor(t, 3*runWait, "the restarted service to scrape again", func() bool { return tg.answers() > acked })
	c.stop(t, syscall.SIGTERM) // flushes everything it holds

	hecSeq, ddSeq := distinctSeq(hec.Points()), ddGaugeValues(dd)
	for v := 1; v <= acked; v++ {
		if !hecSeq[float64(v)] {
			t.Errorf("hec: scrape %d, finished before the SIGKILL, never arrived", v)
		}
		if !ddSeq[float64(v)] {
			t.Errorf("datadog: scrape %d, finished before the SIGKILL, never arrived", v)
		}
	}
	t.Logf("scrapes 1..%d finished before the SIGKILL; after restart hec has %d distinct values, datadog %d", acked, len(hecSeq), len(ddSeq))
}
