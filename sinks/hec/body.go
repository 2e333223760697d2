package hec

import (
	"github.com/klauspost/compress/gzip"
)

// spillBytes is how much plain body the encoder holds before it starts
// compressing the request as a stream. A gzip request never keeps its
// whole plain body (1 MiB at the default max_request_bytes), only its
// compressed form and the last spillBytes of text.
//
// Bodies that never spill are compressed in one call by klauspost's
// stateless deflate, which keeps no compressor between requests; the
// BestSpeed writer keeps about 1.5 MiB (history, hash table, tokens) for
// the life of the sink. The writer is built on the first body that
// spills, so a sink whose requests stay small (a few thousand series)
// never holds one. Both produce the same gzip stream format; on this
// encoder's bodies stateless costs about 1.6x the CPU per byte and
// compresses about as well (its 8 KiB dictionary across 32 KiB blocks
// sees the repeated event head), which on requests under spillBytes is
// well under a millisecond.
const spillBytes = 256 << 10

// write adds plain body bytes to the open request.
func (e *encoder) write(b []byte) {
	e.req = append(e.req, b...)
	e.maybeSpill()
}

// maybeSpill compresses the held plain text into the request's stream once
// there is spillBytes of it.
func (e *encoder) maybeSpill() {
	if !e.gzip || len(e.req) < spillBytes {
		return
	}
	if !e.stream {
		e.startGzip(&e.zw, gzipLevel)
		e.stream = true
	}
	// Writes to a bytes.Buffer cannot fail.
	_, _ = e.zw.Write(e.req)
	e.req = e.req[:0]
}

// body returns an owned copy of the finished request body, gzipped when
// configured, in a buffer from the body pool.
func (e *encoder) body() []byte {
	if !e.gzip {
		return e.owned(e.req)
	}
	zw := e.zw
	if !e.stream {
		zw = e.startGzip(&e.zs, gzip.StatelessCompression)
	}
	e.stream = false
	_, _ = zw.Write(e.req)
	_ = zw.Close()
	return e.owned(e.zbuf.Bytes())
}

// owned copies b into a buffer of the body pool, which the request then
// owns until the Runner hands it back (Recycle).
func (e *encoder) owned(b []byte) []byte {
	out := e.bodies.Get(len(b))
	copy(out, b)
	return out
}

// Recycle implements sinks.Recycler: the Runner hands back a body nothing
// reads any more (Send returned: with indexer acknowledgement only once the
// ack came, and the acker keeps a hash of the body, never the bytes), and
// the encoder's next request reuses it.
func (s *Sink) Recycle(body []byte) { s.enc.bodies.Put(body) }

// startGzip empties zbuf and points *zw (built at level on first use) at it.
func (e *encoder) startGzip(zw **gzip.Writer, level int) *gzip.Writer {
	e.zbuf.Reset()
	if *zw == nil {
		// NewWriterLevel only fails for an invalid level.
		*zw, _ = gzip.NewWriterLevel(&e.zbuf, level)
	} else {
		(*zw).Reset(&e.zbuf)
	}
	return *zw
}
