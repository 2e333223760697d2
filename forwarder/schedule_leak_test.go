package forwarder

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/forwarder/config"
)

// stormConfig: 50 sources named for generation gen, each scraping its own
// path of url every second, and one stdout sink writing to io.Discard.
func stormConfig(t *testing.T, url string, gen int) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("shutdown_timeout: 5s\nserver: { listen: \"\" }\ndedupe: { enabled: false }\nsources:\n")
	for i := range stormSources {
		fmt.Fprintf(&b, "  - { name: g%d-s%d, url: \"%s/g%d/s%d\", interval: 1s, timeout: 1s }\n", gen, i, url, gen, i)
	}
	b.WriteString("sinks:\n  - { name: out, type: stdout, flush_interval: 100ms }\n")
	cfg, err := config.Load("storm.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	setWriter(t, cfg, "out", io.Discard)
	return cfg
}

const stormSources = 50

// hitCounter counts requests by the first path segment (the generation).
type hitCounter struct {
	mu   sync.Mutex
	hits map[string]map[string]bool
}

func (h *hitCounter) distinct(gen int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.hits[fmt.Sprintf("g%d", gen)])
}

// TestReloadStormNoLeak (issue 21.10): 40 reloads that each replace all 50
// sources, every source scraped before it is replaced. The goroutine count
// and the live heap plus stacks must stay flat, and once the service stops
// no goroutine of it is left (goleak). gocron v2.21.2 kept one runner
// goroutine per removed job: +2,000 goroutines here.
func TestReloadStormNoLeak(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	hc := &hitCounter{hits: map[string]map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
		hc.mu.Lock()
		if hc.hits[parts[0]] == nil {
			hc.hits[parts[0]] = map[string]bool{}
		}
		hc.hits[parts[0]][r.URL.Path] = true
		hc.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# TYPE up_ gauge\nup_ 1\n")
	}))
	defer srv.Close()
	ignore := goleak.IgnoreCurrent()

	clock := clockwork.NewFakeClock()
	f, err := New(stormConfig(t, srv.URL, 0), Options{Logger: zap.NewNop(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- f.Run(ctx, func() { close(ready) }) }()
	<-ready
	scraped := func(gen int) {
		t.Helper()
		advanceUntil(t, clock, time.Second, fmt.Sprintf("every source of generation %d scraped", gen),
			func() bool { return hc.distinct(gen) == stormSources })
	}
	settled := func() (goroutines int, mem uint64) {
		// Retired sources say goodbye in the background: let them finish.
		f.sdLoops.Wait()
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc + ms.StackInuse
	}
	scraped(0)
	baseG, _ := settled()
	var memAt5 uint64
	const reloads = 40
	for gen := 1; gen <= reloads; gen++ {
		if err := f.Reload(stormConfig(t, srv.URL, gen)); err != nil {
			t.Fatalf("reload %d: %v", gen, err)
		}
		scraped(gen)
		if gen == 5 {
			_, memAt5 = settled()
		}
	}
	// A removed job's goroutine ends on its own after its run: poll.
	var g int
	var mem uint64
	deadline := time.Now().Add(runWait)
	for g, mem = settled(); g > baseG+10 && time.Now().Before(deadline); g, mem = settled() {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d reloads x %d sources: goroutines %d -> %d; heap+stacks %d KiB after reload 5, %d KiB after reload %d",
		reloads, stormSources, baseG, g, memAt5>>10, mem>>10, reloads)
	if g > baseG+10 {
		t.Errorf("goroutines grew from %d to %d over %d reloads", baseG, g, reloads)
	}
	// 35 more generations of 50 sources: 25 KiB each would be ~43 MiB.
	if mem > memAt5+4<<20 {
		t.Errorf("heap+stacks grew from %d KiB to %d KiB between reload 5 and %d", memAt5>>10, mem>>10, reloads)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	srv.Close()
	goleak.VerifyNone(t, ignore)
}
