package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// tgtCondServer serves body (swappable) and honours one validator kind.
type tgtCondServer struct {
	body      atomic.Value // string
	validator string       // "etag", "last-modified" or "" (none)
	conds     chan string  // the conditional header each request carried
}

func (s *tgtCondServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := s.body.Load().(string)
	tag := fmt.Sprintf(`"%x"`, xxhash.Sum64String(body))
	mod := time.Unix(1_700_000_000+int64(xxhash.Sum64String(body)%100_000), 0).UTC().Format(http.TimeFormat)
	w.Header().Set("Cache-Control", "max-age=300")
	switch s.validator {
	case "etag":
		s.conds <- r.Header.Get("If-None-Match")
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	case "last-modified":
		s.conds <- r.Header.Get("If-Modified-Since")
		w.Header().Set("Last-Modified", mod)
		if r.Header.Get("If-Modified-Since") == mod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	default:
		s.conds <- r.Header.Get("If-None-Match") + r.Header.Get("If-Modified-Since")
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(body))
}

func TestScrapeConditionalAndIdentical(t *testing.T) {
	const v1 = "# TYPE up gauge\nup 1\nlast_seen 5 1700000000000\n"
	const v2 = "# TYPE up gauge\nup 0\nlast_seen 5 1700000000000\n"
	cases := []struct {
		validator string
		wantCond  bool // second request carries a conditional header
		wantBytes int64
	}{
		{"etag", true, 0},
		{"last-modified", true, 0},
		{"", false, int64(len(v1))}, // byte-identical body: read but not parsed
	}
	for _, c := range cases {
		t.Run("validator="+c.validator, func(t *testing.T) {
			s := &tgtCondServer{validator: c.validator, conds: make(chan string, 4)}
			s.body.Store(v1)
			srv := httptest.NewServer(s)
			defer srv.Close()
			tg := tgtNew(t, srv.URL, nil)
			t1, t2, t3 := tgtNow, tgtNow.Add(time.Minute), tgtNow.Add(2*time.Minute)

			r1 := tg.Scrape(context.Background(), t1)
			if r1.Err != nil || r1.Unchanged {
				t.Fatalf("first scrape: %+v", r1)
			}
			if cond := <-s.conds; cond != "" {
				t.Errorf("first request carried a validator %q", cond)
			}
			if r1.MaxAge != 5*time.Minute {
				t.Errorf("MaxAge = %s, want 5m", r1.MaxAge)
			}
			first := tgtRender(r1.Samples)

			r2 := tg.Scrape(context.Background(), t2)
			if r2.Err != nil || !r2.Unchanged {
				t.Fatalf("second scrape: %+v", r2)
			}
			if cond := <-s.conds; (cond != "") != c.wantCond {
				t.Errorf("second request validator = %q, want one: %v", cond, c.wantCond)
			}
			if r2.Bytes != c.wantBytes || r2.MaxAge != 5*time.Minute {
				t.Errorf("Bytes = %d (want %d), MaxAge = %s", r2.Bytes, c.wantBytes, r2.MaxAge)
			}
			tgtEqual(t, r2.Samples, []string{
				`last_seen{} 5 @1700000000000 explicit`,
				`up{} 1 @1700000160000`,
			})
			// The first result is untouched and not shared.
			tgtEqual(t, r1.Samples, first)
			if &r1.Samples[0] == &r2.Samples[0] {
				t.Error("unchanged scrape handed out the previous slice")
			}

			r3 := tg.Scrape(context.Background(), t2)
			if &r3.Samples[0] == &r2.Samples[0] {
				t.Error("two unchanged scrapes share a slice")
			}
			<-s.conds

			s.body.Store(v2)
			r4 := tg.Scrape(context.Background(), t3)
			if r4.Err != nil || r4.Unchanged {
				t.Fatalf("changed scrape: %+v", r4)
			}
			<-s.conds
			tgtEqual(t, r4.Samples, []string{
				`last_seen{} 5 @1700000000000 explicit`,
				`up{} 0 @1700000220000`,
			})
		})
	}
}

func TestScrapeUnexpected304(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer srv.Close()
	res := tgtNew(t, srv.URL, nil).Scrape(context.Background(), tgtNow)
	if res.Err == nil || res.Unchanged || res.Samples != nil {
		t.Fatalf("result = %+v, want error", res)
	}
}

// A failed parse must not poison the state: the next identical-but-broken
// body fails again rather than being reported unchanged.
func TestScrapeFailedParseNotRemembered(t *testing.T) {
	srv := tgtServer(t, "text/plain; version=0.0.4", []byte("# TYPE x gauge\nx{i=\"1\"} 1\nx{i=\"2\"} 2\n"), false)
	tg := tgtNew(t, srv.URL, func(c *TargetConfig) { c.Limits.MaxSamples = 1 })
	for i := range 2 {
		if res := tg.Scrape(context.Background(), tgtNow); res.Err == nil || res.Unchanged {
			t.Fatalf("scrape %d: %+v, want limit error", i, res)
		}
	}
}

func TestCacheMaxAge(t *testing.T) {
	cases := []struct {
		cc, age string
		want    time.Duration
	}{
		{"", "", 0},
		{"max-age=60", "", time.Minute},
		{"public, MAX-AGE=\"3600\"", "", time.Hour},
		{"max-age=3600", "600", 50 * time.Minute},
		{"max-age=60", "120", 0},
		{"max-age=60, no-cache", "", 0},
		{"no-store", "", 0},
		{"max-age=-5", "", 0},
		{"max-age=abc", "", 0},
		{"s-maxage=60", "", 0},
		{"max-age=99999999999999", "", (1<<31 - 1) * time.Second},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.cc != "" {
			h.Set("Cache-Control", c.cc)
		}
		if c.age != "" {
			h.Set("Age", c.age)
		}
		if got := cacheMaxAge(h); got != c.want {
			t.Errorf("Cache-Control %q Age %q: got %s, want %s", c.cc, c.age, got, c.want)
		}
	}
}
