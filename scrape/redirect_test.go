package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	commoncfg "github.com/prometheus/common/config"
)

// hopRecorder records what each request carried that it should not.
type hopRecorder struct {
	mu   sync.Mutex
	hops []string // "server path auth=... key=... referer=..."
}

func (h *hopRecorder) add(server string, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hops = append(h.hops, server+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+
		" key="+r.Header.Get("X-Api-Key")+" referer="+r.Header.Get("Referer"))
}

func (h *hopRecorder) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hops...)
}

// TestScrapeRedirects: with follow_redirects (Prometheus' default) a source
// follows redirects, but never sends Referer (it carries the URL's query
// secrets) and drops credentials and custom headers as soon as a redirect
// leaves the target's origin, including to the same IP on another port.
// Without follow_redirects a 3xx is a failed scrape and nothing else is
// contacted.
func TestScrapeRedirects(t *testing.T) {
	auths := map[string]func(*commoncfg.HTTPClientConfig){
		"bearer": func(c *commoncfg.HTTPClientConfig) { c.BearerToken = "tok-SECRET" },
		"basic": func(c *commoncfg.HTTPClientConfig) {
			c.BasicAuth = &commoncfg.BasicAuth{Username: "u", Password: "pw-SECRET"}
		},
	}
	for _, tc := range []struct {
		name   string
		follow bool
		// first redirects to path on "self" or "other".
		hops []string
		want []string
		err  bool
	}{
		{"same origin keeps credentials", true, []string{"self /moved"}, []string{
			"self /metrics auth=SET key=hdr-SECRET referer=",
			"self /moved auth=SET key=hdr-SECRET referer=",
		}, false},
		{"other port drops credentials", true, []string{"other /metrics"}, []string{
			"self /metrics auth=SET key=hdr-SECRET referer=",
			"other /metrics auth= key= referer=",
		}, false},
		{"back to origin after leaving stays bare", true, []string{"other /bounce", "self /final"}, []string{
			"self /metrics auth=SET key=hdr-SECRET referer=",
			"other /bounce auth= key= referer=",
			"self /final auth= key= referer=",
		}, false},
		{"follow_redirects false", false, []string{"other /metrics"}, []string{
			"self /metrics auth=SET key=hdr-SECRET referer=",
		}, true},
	} {
		for authName, setAuth := range auths {
			t.Run(tc.name+"/"+authName, func(t *testing.T) {
				rec := &hopRecorder{}
				var self, other *httptest.Server
				serve := func(name string) http.HandlerFunc {
					return func(w http.ResponseWriter, r *http.Request) {
						rec.add(name, r)
						n := len(rec.all()) - 1
						if n < len(tc.hops) {
							where, path, _ := strings.Cut(tc.hops[n], " ")
							target := self.URL
							if where == "other" {
								target = other.URL
							}
							http.Redirect(w, r, target+path+"?next=1", http.StatusFound)
							return
						}
						_, _ = w.Write([]byte("up 1\n"))
					}
				}
				self = httptest.NewServer(serve("self"))
				defer self.Close()
				other = httptest.NewServer(serve("other"))
				defer other.Close()

				tg := tgtNew(t, self.URL+"/metrics?api_key=q-SECRET", func(c *TargetConfig) {
					c.HTTP.FollowRedirects = tc.follow
					c.HTTP.HTTPHeaders = &commoncfg.Headers{Headers: map[string]commoncfg.Header{
						"X-Api-Key": {Secrets: []commoncfg.Secret{"hdr-SECRET"}},
					}}
					setAuth(&c.HTTP)
				})
				res := tg.Scrape(context.Background(), tgtNow)
				if (res.Err != nil) != tc.err {
					t.Fatalf("scrape err = %v, want error %v", res.Err, tc.err)
				}
				if !tc.err && len(res.Samples) != 1 {
					t.Fatalf("samples = %d, want 1", len(res.Samples))
				}
				got := rec.all()
				for i := range got {
					// Normalise the credential to SET, whatever its scheme.
					if a, b, ok := strings.Cut(got[i], " auth="); ok && !strings.HasPrefix(b, " ") {
						_, rest, _ := strings.Cut(b, " key=")
						got[i] = a + " auth=SET key=" + rest
					}
				}
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Fatalf("hops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			})
		}
	}
}
