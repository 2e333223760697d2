package sinks

import (
	"context"
	"io"
	"net"
)

// copyBufSize is io.Copy's buffer size, which net/http's body writes get
// when nothing pools them.
const copyBufSize = 32 << 10

// copyBufs is a bounded free list of copy buffers shared by the connections
// of one client. It holds at most its capacity in buffers (4 x 32 KiB per
// sink); a write finding it empty allocates one, and a buffer returned to
// a full list is left to the garbage collector.
type copyBufs chan *[copyBufSize]byte

func newCopyBufs() copyBufs { return make(copyBufs, 4) }

func (c copyBufs) get() *[copyBufSize]byte {
	select {
	case b := <-c:
		return b
	default:
		return new([copyBufSize]byte)
	}
}

func (c copyBufs) put(b *[copyBufSize]byte) {
	select {
	case c <- b:
	default:
	}
}

// dialCopyConn wraps dial so that its connections copy request bodies
// through a pooled buffer. net/http writes a body with a known length as
// io.Copy(conn, io.LimitReader(body, n)) (persistConnWriter.ReadFrom in
// transport.go, transferWriter.writeBody in transfer.go); the LimitReader
// hides the body's WriteTo, so *net.TCPConn.ReadFrom falls back to
// genericReadFrom, whose io.Copy allocates 32 KiB for every request.
//
// The wrapper sits under TLS when the URL is https: crypto/tls only calls
// Write on it, and net/http still sees a *tls.Conn, so ALPN and HTTP/2 are
// untouched (HTTP/2 frames bodies from its own buffers; an HTTP/1.1 body
// over TLS is copied by io.Copy onto the *tls.Conn and still allocates).
func dialCopyConn(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	bufs := newCopyBufs()
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &copyConn{Conn: c, bufs: bufs}, nil
	}
}

// copyConn is a net.Conn whose ReadFrom copies with a pooled buffer.
type copyConn struct {
	net.Conn
	bufs copyBufs
}

// ReadFrom copies r onto the connection through a pooled buffer. The
// destination is the bare net.Conn behind writeOnly, so io.CopyBuffer
// cannot call a ReadFrom again (neither ours, which would recurse, nor
// TCPConn's, which would allocate); if r is an io.WriterTo it is used
// as is.
func (c *copyConn) ReadFrom(r io.Reader) (int64, error) {
	b := c.bufs.get()
	defer c.bufs.put(b)
	return io.CopyBuffer(writeOnly{c.Conn}, r, b[:])
}

// writeOnly hides every method of its writer but Write.
type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }
