package sinks

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/hashicorp/go-retryablehttp"
)

// ErrBodyReleased is what a request body reader returns once the Send that
// lent it has returned (see NewBodyRequest).
var ErrBodyReleased = errors.New("sinks: request body read after its send returned")

// NewBodyRequest builds a retryable request that sends body, and a release
// func the caller must call (defer) before its Send returns. net/http may
// still be writing a request body after Do returned (an early answer, a
// 413 before the upload ended: "the Body may be closed asynchronously after
// Do returns"); once release has run, every reader of body handed to the
// transport fails instead of reading, so the Runner can recycle body (see
// Recycler) while such a write is still pending. The late write then fails
// and the connection is closed; the answer it would have carried was
// already read.
func NewBodyRequest(ctx context.Context, method, url string, body []byte) (*retryablehttp.Request, func(), error) {
	lb := &lentBody{body: body}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, retryablehttp.ReaderFunc(lb.reader))
	if err != nil {
		return nil, nil, err
	}
	return req, lb.release, nil
}

// lentBody is a body shared by every attempt of one send.
type lentBody struct {
	mu       sync.Mutex
	body     []byte
	released bool
}

func (lb *lentBody) reader() (io.Reader, error) { return &lentReader{lb: lb}, nil }

func (lb *lentBody) release() {
	lb.mu.Lock()
	lb.released = true
	lb.body = nil
	lb.mu.Unlock()
}

// lentReader reads one attempt's copy of a lentBody. It is deliberately
// not an io.WriterTo: net/http hides that behind an io.LimitReader anyway,
// and the copy then goes through the connection's pooled buffer
// (copyConn, conn.go).
type lentReader struct {
	lb  *lentBody
	off int
}

func (r *lentReader) Read(p []byte) (int, error) {
	r.lb.mu.Lock()
	defer r.lb.mu.Unlock()
	if r.lb.released {
		return 0, ErrBodyReleased
	}
	if r.off >= len(r.lb.body) {
		return 0, io.EOF
	}
	n := copy(p, r.lb.body[r.off:])
	r.off += n
	return n, nil
}

// Len is what retryablehttp reads for Content-Length.
func (r *lentReader) Len() int {
	r.lb.mu.Lock()
	defer r.lb.mu.Unlock()
	return max(len(r.lb.body)-r.off, 0) // 0 once released
}
