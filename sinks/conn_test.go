package sinks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/promfwd/promfwd/internal/allocprof"
)

// hashServer answers 204 with the SHA-256 of each body it read in a header,
// and the protocol it was spoken to with.
func hashHandler(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	if _, err := io.Copy(h, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Sum", hex.EncodeToString(h.Sum(nil)))
	w.Header().Set("X-Proto", r.Proto)
	w.WriteHeader(http.StatusNoContent)
}

func postBody(t *testing.T, c *retryablehttp.Client, url string, body []byte) (proto string) {
	t.Helper()
	req, release, err := NewBodyRequest(context.Background(), http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	DrainBody(resp.Body)
	want := sha256.Sum256(body)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Sum") != hex.EncodeToString(want[:]) {
		t.Fatalf("status %d; the server read another body than the one sent", resp.StatusCode)
	}
	return resp.Header.Get("X-Proto")
}

// TestRequestBodyWriteAllocatesNoCopyBuffer: sending a request body over
// plain HTTP/1.1 copies it through the connection's pooled buffer
// (copyConn.ReadFrom), not through a fresh 32 KiB io.Copy buffer per
// request (net.genericReadFrom under persistConnWriter.ReadFrom).
func TestRequestBodyWriteAllocatesNoCopyBuffer(t *testing.T) {
	defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	srv := httptest.NewServer(http.HandlerFunc(hashHandler))
	defer srv.Close()
	c, err := NewHTTPClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	postBody(t, c, srv.URL, body)                            // dials; the first write makes the buffer
	runtime.GC()
	before := allocprof.AllocatedIn("net/http.persistConnWriter.ReadFrom")
	const requests = 20
	for range requests {
		postBody(t, c, srv.URL, body)
	}
	runtime.GC()
	if got := allocprof.AllocatedIn("net/http.persistConnWriter.ReadFrom") - before; got >= copyBufSize {
		t.Fatalf("%d requests allocated %d bytes writing their bodies (%d per request)", requests, got, got/requests)
	}
}

// TestCopyConnUnderTLS: with https the wrapper sits under TLS, so HTTP/2 is
// still negotiated (and HTTP/1.1 works) and bodies arrive intact.
func TestCopyConnUnderTLS(t *testing.T) {
	body := bytes.Repeat([]byte("tls body "), 100_000)
	for _, tc := range []struct {
		name  string
		h2    bool
		proto string
	}{
		{"http2", true, "HTTP/2.0"},
		{"http1.1", false, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(hashHandler))
			srv.EnableHTTP2 = tc.h2
			srv.StartTLS()
			defer srv.Close()
			ca := filepath.Join(t.TempDir(), "ca.pem")
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
			if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
				t.Fatal(err)
			}
			var o ClientOptions
			o.TLS.CAFile = ca
			c, err := NewHTTPClient(o)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if got := postBody(t, c, srv.URL, body); got != tc.proto {
					t.Fatalf("spoke %s, want %s", got, tc.proto)
				}
			}
		})
	}
}

// TestLentBodyNotReadAfterRelease: net/http can hand back an answer while
// it is still writing the request body (here a 413 sent after the first
// KiB). Once the send's release ran and the buffer is reused, the rest of
// the upload must not carry the new content: the reader fails instead.
func TestLentBodyNotReadAfterRelease(t *testing.T) {
	const size = 32 << 20 // far more than loopback socket buffers hold
	answered, readRest := make(chan struct{}), make(chan struct{})
	sawReused := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		head := make([]byte, 1024)
		_, _ = io.ReadFull(r.Body, head)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_ = http.NewResponseController(w).Flush()
		close(answered)
		<-readRest
		rest, _ := io.ReadAll(r.Body)
		sawReused <- bytes.IndexByte(rest, 'X') >= 0
	}))
	defer srv.Close()
	c, err := NewHTTPClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("a"), size)
	req, release, err := NewBodyRequest(context.Background(), http.MethodPost, srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-answered
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
	release()
	for i := range body { // the Runner recycled it; the encoder fills it anew
		body[i] = 'X'
	}
	close(readRest)
	select {
	case reused := <-sawReused:
		if reused {
			t.Fatal("the server received bytes written into the body after its send returned")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server never finished reading")
	}
	DrainBody(resp.Body)
}

func TestLentReader(t *testing.T) {
	lb := &lentBody{body: []byte("hello world")}
	r1, _ := lb.reader()
	r2, _ := lb.reader()
	if n := r1.(interface{ Len() int }).Len(); n != 11 {
		t.Fatalf("Len = %d", n)
	}
	buf := make([]byte, 5)
	if n, err := r1.Read(buf); n != 5 || err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if all, err := io.ReadAll(r2); err != nil || string(all) != "hello world" {
		t.Fatalf("a second attempt's reader read %q, %v", all, err)
	}
	lb.release()
	if n, err := r1.Read(buf); n != 0 || !errors.Is(err, ErrBodyReleased) {
		t.Fatalf("after release: %d bytes, %v", n, err)
	}
}
