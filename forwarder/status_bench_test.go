package forwarder

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/forwarder/status"
	"github.com/promfwd/promfwd/scrape"
)

// BenchmarkTargetsPage10k serves GET /targets for a forwarder with 10,000
// targets, each with a last scrape (every tenth failing): the snapshot of
// the running state plus the rendering. The budget is 200 ms.
//
//	go test -run '^$' -bench BenchmarkTargetsPage10k -benchtime 20x ./forwarder/
func BenchmarkTargetsPage10k(b *testing.B) {
	const n = 10_000
	var y strings.Builder
	y.WriteString("server: {listen: ''}\nsources:\n")
	for i := range n {
		fmt.Fprintf(&y, "  - {name: node-%05d, url: 'http://10.0.%d.%d:9100/metrics', labels: {rack: r%d}}\n", i, i/250, i%250, i%8)
	}
	y.WriteString("sinks: [{name: out, type: stdout}]\n")
	cfg, _ := loadRunConfig(b, y.String())
	f, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.closeAll)
	now := time.Now()
	samples := make([]scrape.Sample, 1500) // observe keeps only the count
	for _, sj := range f.sources {
		res := scrape.Result{Duration: 12 * time.Millisecond, Bytes: 90_000, Samples: samples}
		if strings.HasSuffix(sj.src.name, "0") {
			res = scrape.Result{Err: fmt.Errorf("scrape %s: %w", sj.src.name, scrape.ErrCredentialsRefused)}
		}
		sj.src.observe(now, res, false)
	}
	h, err := status.NewHandler(statusSource{f}, f.feed.hist, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	req := httptest.NewRequest(http.MethodGet, "/targets", nil)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /targets: %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "html_bytes")
}
