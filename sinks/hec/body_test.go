package hec

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEncodeGzipBodies: every gzip request, small (compressed in one call)
// or large (streamed while it is built), unzips to the plain encoding; a
// large one never holds its whole plain body, and a sink whose requests
// stay small never builds the streaming compressor.
func TestEncodeGzipBodies(t *testing.T) {
	for _, tc := range []struct {
		n      int
		multi  bool
		stream bool
	}{
		{200, false, false},
		{200, true, false},
		{20000, false, true},
		{20000, true, true},
	} {
		t.Run(fmt.Sprintf("samples=%d/multi=%v", tc.n, tc.multi), func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1")
			cfg.MultiMetric = tc.multi
			plain, _, _ := newTestSink(t, func() Config { c := cfg; c.Gzip = false; return c }())
			zipped, _, _ := newTestSink(t, cfg)
			samples := genSamples(tc.n)
			for round := range 2 { // the second reuses the encoder's state
				a, _ := plain.Encode(samples)
				b, _ := zipped.Encode(samples)
				if len(a.Requests) != len(b.Requests) {
					t.Fatalf("round %d: %d plain requests, %d gzip", round, len(a.Requests), len(b.Requests))
				}
				for i := range a.Requests {
					if got := gunzip(t, b.Requests[i].Body); !bytes.Equal(got, a.Requests[i].Body) {
						t.Fatalf("round %d: request %d (%d bytes plain) unzips to %d different bytes", round, i, len(a.Requests[i].Body), len(got))
					}
				}
			}
			e := zipped.enc
			if streamed := e.zw != nil; streamed != tc.stream {
				t.Errorf("streaming compressor built: %v, want %v", streamed, tc.stream)
			}
			if c := cap(e.req); c > 2*spillBytes {
				t.Errorf("encoder holds %d bytes of plain body, want <= %d", c, 2*spillBytes)
			}
		})
	}
}
