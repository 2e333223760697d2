package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// tgtEndless yields an endless stream of metric lines and counts what was read.
type tgtEndless struct{ n int64 }

func (e *tgtEndless) Read(p []byte) (int, error) {
	const line = "metric_line 1\n"
	for i := range p {
		p[i] = line[(e.n+int64(i))%int64(len(line))]
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestReadBounded(t *testing.T) {
	cases := []struct {
		name    string
		size    int64 // -1: endless
		limit   int64
		hint    int64
		tooBig  bool
		initCap int
	}{
		{"empty", 0, 100, -1, false, 0},
		{"under", 99, 100, -1, false, 0},
		{"exactly limit", 100, 100, -1, false, 0},
		{"one over", 101, 100, -1, true, 0},
		{"endless small limit", -1, 1000, -1, true, 0},
		{"endless large limit", -1, 1 << 20, -1, true, 0},
		{"hint exact", 5000, 1 << 20, 5001, false, 0},
		{"lying hint", -1, 1 << 20, 1 << 40, true, 0},
		{"reused buffer", 300_000, 1 << 20, -1, false, 1 << 19},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &tgtEndless{}
			var r io.Reader = src
			if c.size >= 0 {
				r = io.LimitReader(src, c.size)
			}
			buf, err := readBounded(make([]byte, 0, c.initCap), r, c.limit, c.hint)
			if c.tooBig != errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("err = %v, want too large: %v", err, c.tooBig)
			}
			if !c.tooBig && (err != nil || int64(len(buf)) != c.size) {
				t.Fatalf("len = %d err = %v, want %d bytes", len(buf), err, c.size)
			}
			if src.n > c.limit+1 {
				t.Errorf("read %d bytes from the source, limit %d", src.n, c.limit)
			}
			if c.initCap < int(c.limit+1) && int64(cap(buf)) > c.limit+1 {
				t.Errorf("buffer grew to %d, limit %d", cap(buf), c.limit)
			}
		})
	}
}

// tgtCountingBody is a response body that records how much was read.
type tgtCountingBody struct {
	r io.Reader
	n int64
}

func (b *tgtCountingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}
func (b *tgtCountingBody) Close() error { return nil }

func TestReadBodyBounded(t *testing.T) {
	const limit = 64 << 10
	// A gzip bomb: 4 MiB of zeros (64 times the limit) in ~4 KiB. Larger
	// bombs prove nothing more and take seconds to compress under -race.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 4<<20))
	_ = zw.Close()
	// Endless empty gzip members: lots of wire bytes, no output.
	empty := tgtGzip(t, nil)
	cases := []struct {
		name     string
		encoding string
		length   int64
		body     io.Reader
	}{
		{"endless identity", "", -1, &tgtEndless{}},
		{"declared too long", "", limit + 1, strings.NewReader("x")},
		{"gzip bomb", "gzip", -1, bytes.NewReader(bomb.Bytes())},
		{"endless empty gzip members", "gzip", -1, io.MultiReader(tgtRepeat(empty, 100_000)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := tgtNew(t, "http://127.0.0.1:1", func(cfg *TargetConfig) { cfg.MaxBodyBytes = limit })
			body := &tgtCountingBody{r: c.body}
			resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: body, ContentLength: c.length}
			if c.encoding != "" {
				resp.Header.Set("Content-Encoding", c.encoding)
			}
			_, err := tg.readBody(resp)
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("err = %v, want ErrBodyTooLarge", err)
			}
			if body.n > limit+1 {
				t.Errorf("read %d wire bytes, limit %d", body.n, limit)
			}
		})
	}
}

// Bodies of every size read correctly one after another through the shared
// free list (bodybuf.go; reuse itself is asserted in bodybuf_test.go), and
// the list keeps only buffers worth keeping.
func TestReadBodyPooledBuffer(t *testing.T) {
	tg := tgtNew(t, "http://127.0.0.1:1", func(c *TargetConfig) { c.BodyBuffers = NewBodyBuffers() })
	for _, size := range []int{300_000, 290_000, 8 << 20, 1000, 0} {
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: -1,
			Body: io.NopCloser(io.LimitReader(&tgtEndless{}, int64(size)))}
		b, err := tg.readBody(resp)
		if err != nil || len(b) != size {
			t.Fatalf("read %d: len %d, %v", size, len(b), err)
		}
		tg.bodies.put(b)
	}
	for _, tc := range []struct {
		len, cap int
		keep     bool
	}{
		{300_000, 400_000, true},
		{1000, 8 << 20, false}, // a one-off huge answer is not held
		{0, minBodyBuffer, true},
	} {
		if got := keepBodyBuffer(make([]byte, tc.len, tc.cap)); got != tc.keep {
			t.Errorf("keep len %d cap %d = %v, want %v", tc.len, tc.cap, got, tc.keep)
		}
	}
	if keepBodyBuffer(nil) {
		t.Error("nil buffer kept")
	}
}

func tgtRepeat(b []byte, n int) []io.Reader {
	rs := make([]io.Reader, n)
	for i := range rs {
		rs[i] = bytes.NewReader(b)
	}
	return rs
}

// The server streams forever; the scrape must fail and hang up, which the
// handler observes as a write error (otherwise srv.Close would block).
func TestScrapeOversizedStream(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run("gzip="+strconv.FormatBool(gz), func(t *testing.T) {
			done := make(chan int64, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var out io.Writer = w
				var zw *gzip.Writer
				if gz {
					w.Header().Set("Content-Encoding", "gzip")
					zw = gzip.NewWriter(w)
					out = zw
				}
				chunk := bytes.Repeat([]byte("endless_metric 1\n"), 4096)
				var sent int64
				for {
					n, err := out.Write(chunk)
					sent += int64(n)
					if err == nil && zw != nil {
						err = zw.Flush()
					}
					if err != nil {
						done <- sent
						return
					}
				}
			}))
			defer srv.Close()
			res := tgtNew(t, srv.URL, func(c *TargetConfig) { c.MaxBodyBytes = 1 << 20 }).Scrape(context.Background(), tgtNow)
			if !errors.Is(res.Err, ErrBodyTooLarge) || res.Samples != nil {
				t.Fatalf("result = %+v, want ErrBodyTooLarge", res)
			}
			if !strings.Contains(res.Err.Error(), "over 1048576 bytes") {
				t.Errorf("error %q does not name the limit", res.Err)
			}
			<-done // the server saw us hang up
		})
	}
}

func TestSanitizeSnippet(t *testing.T) {
	cases := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"plain", "bad request", nil, "bad request"},
		{"whitespace collapsed", "  a\r\n\tb  \n", nil, "a b"},
		{"controls dropped", "a\x00\x1b[31mb\x7f", nil, "a [31mb"},
		{"invalid utf8", "a\xffb", nil, "a?b"},
		{"unicode kept", "héllo wörld", nil, "héllo wörld"},
		{"secret redacted", "token abc123 refused", []string{"abc123"}, "token <secret> refused"},
		{"longest secret first", "Bearer abc123", []string{"abc123", "Bearer abc123"}, "<secret>"},
		{"truncated", strings.Repeat("a", 300), nil, strings.Repeat("a", 256) + "..."},
		{"secret across the cut", strings.Repeat("a", 250) + "SECRETVALUE", []string{"SECRETVALUE"}, strings.Repeat("a", 250) + "<secre..."},
		{"rune boundary", strings.Repeat("a", 255) + "é", nil, strings.Repeat("a", 255) + "..."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sanitizeSnippet(c.in, c.secrets); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
