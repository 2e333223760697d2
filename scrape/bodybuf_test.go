package scrape

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promfwd/promfwd/internal/allocprof"
)

func bodyAddr(b []byte) *byte { return &b[:1][0] }

func TestBodyFreeList(t *testing.T) {
	const mib = 1 << 20
	mk := func(c int) []byte { return make([]byte, c-mib/8, c) } // keepBodyBuffer: mostly used
	cases := []struct {
		name string
		run  func(t *testing.T, l *BodyBuffers)
	}{
		{"survives garbage collections", func(t *testing.T, l *BodyBuffers) {
			b := mk(mib)
			l.put(b)
			runtime.GC()
			runtime.GC() // a sync.Pool is empty after two
			if got := l.get(int64(mib / 2)); got == nil || bodyAddr(got) != bodyAddr(b) {
				t.Fatal("the buffer put before two collections was not handed out again")
			}
		}},
		{"smallest that fits the hint, smallest without one", func(t *testing.T, l *BodyBuffers) {
			small, big := mk(mib), mk(2*mib)
			l.put(big)
			l.put(small)
			if got := l.get(int64(mib + 1)); got == nil || bodyAddr(got) != bodyAddr(big) {
				t.Fatal("hint over the small buffer: want the big one")
			}
			l.put(big)
			if got := l.get(int64(mib / 2)); got == nil || bodyAddr(got) != bodyAddr(small) {
				t.Fatal("small hint: want the small buffer")
			}
			l.put(small)
			if got := l.get(-1); got == nil || bodyAddr(got) != bodyAddr(small) {
				t.Fatal("no hint: want the smallest buffer")
			}
			l.put(small)
			if got := l.get(int64(4 * mib)); got != nil {
				t.Fatalf("nothing holds 4 MiB, got cap %d", cap(got))
			}
			if got := l.get(0); got == nil || len(got) != 0 {
				t.Fatal("a buffer is handed out empty")
			}
		}},
		{"a big target's buffer is not given to a small answer", func(t *testing.T, l *BodyBuffers) {
			big := mk(3 * mib)
			l.put(big)
			if got := l.get(100 << 10); got != nil {
				t.Fatalf("a 100 KiB answer got the %d-byte buffer, which put would then drop", cap(got))
			}
			if got := l.get(int64(2 * mib)); got == nil || bodyAddr(got) != bodyAddr(big) {
				t.Fatal("the big buffer is still there for its own target")
			}
		}},
		{"count bound drops the oldest", func(t *testing.T, l *BodyBuffers) {
			var bufs [][]byte
			for range 6 {
				b := mk(mib)
				bufs = append(bufs, b)
				l.put(b)
			}
			if n, by := l.stats(); n != 3 || by != 3*mib {
				t.Fatalf("holds %d buffers, %d bytes; want 3 and %d", n, by, 3*mib)
			}
			for range 3 {
				got := l.get(-1)
				if a := bodyAddr(got); a != bodyAddr(bufs[3]) && a != bodyAddr(bufs[4]) && a != bodyAddr(bufs[5]) {
					t.Fatal("an evicted (older) buffer was kept")
				}
			}
		}},
		{"byte bound", func(t *testing.T, l *BodyBuffers) {
			l.put(mk(2 * mib))
			l.put(mk(3 * mib))
			if n, by := l.stats(); n != 1 || by != 3*mib {
				t.Fatalf("holds %d buffers, %d bytes; want 1 and 3 MiB", n, by)
			}
			l.put(mk(5 * mib)) // larger than the bound on its own
			if n, by := l.stats(); n != 1 || by != 3*mib {
				t.Fatalf("holds %d buffers, %d bytes after an oversized put", n, by)
			}
		}},
		{"a buffer idle for the idle window is dropped", func(t *testing.T, l *BodyBuffers) {
			l.put(mk(mib))
			for range 8 {
				if l.get(int64(2*mib)) != nil { // never fits: the buffer stays idle
					t.Fatal("no buffer fits 2 MiB")
				}
			}
			if n, _ := l.stats(); n != 1 {
				t.Fatalf("dropped before the idle window ended (%d held)", n)
			}
			l.get(int64(2 * mib))
			if n, by := l.stats(); n != 0 || by != 0 {
				t.Fatalf("idle buffer kept: %d buffers, %d bytes", n, by)
			}
		}},
		{"a mostly unused buffer is not kept", func(t *testing.T, l *BodyBuffers) {
			l.put(make([]byte, 1000, 3*mib))
			l.put(nil)
			if n, _ := l.stats(); n != 0 {
				t.Fatalf("kept %d buffers", n)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newBodyBuffers(3, 4*mib, 8))
		})
	}
}

// TestScrapeBodyBufferReusedAcrossGC: a target scraped again after the
// collector ran reads into the body buffer of an earlier scrape. With the
// sync.Pool that preceded the free list, two collections emptied the pool
// and every scrape allocated its body (1 MiB here) in readBounded again.
// Allocations are attributed by the memory profile, at a rate of 1.
func TestScrapeBodyBufferReusedAcrossGC(t *testing.T) {
	defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "reuse_metric{series=\"%d\",pad=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} %d\n", i, i)
	}
	page := sb.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		_, _ = io.WriteString(w, page)
	}))
	defer srv.Close()
	tg := tgtNew(t, srv.URL, func(c *TargetConfig) { c.BodyBuffers = NewBodyBuffers() })
	ctx := context.Background()
	var prev int64
	for i := range 4 {
		res := tg.Scrape(ctx, time.Now())
		if res.Err != nil {
			t.Fatalf("scrape %d: %v", i, res.Err)
		}
		runtime.GC() // the profile is as of the last collection
		runtime.GC() // and a sync.Pool is empty after two
		got := allocprof.AllocatedIn("scrape.readBounded")
		if i > 0 && got != prev {
			t.Errorf("scrape %d after two collections allocated %d bytes in readBounded for a %d-byte page: the body buffer was not reused",
				i, got-prev, len(page))
		}
		prev = got
	}
}
