package sinks

import (
	"math/bits"
	"sync"
)

// Recycler is implemented by sinks whose encoder reuses request bodies. The
// Runner hands a body back once nothing can read it again: the request was
// delivered or rejected for good (Send returned, and Send reads its body
// only through SendBody, which stops every reader before Send returns), or
// it was evicted from a memory queue. Bodies of a DurableQueue, and requests
// returned by Stop, are never recycled: the queue or the caller still holds
// them. A sink must hand out bodies it owns exclusively (never two requests
// sharing one backing array, never a slice of a buffer it keeps).
type Recycler interface {
	Recycle(body []byte)
}

// Body pool bounds (per sink): BodyPool never holds more than this many
// buffers nor more than this many bytes of capacity. One encode cycle
// (10,000 samples by default) makes several requests at once (remote-write:
// five or six of 2,000 samples, ~55 KiB each at 1M series), and the
// scrapes of a few targets can land together, so a burst needs a dozen or
// two bodies; the byte bound keeps large bodies (HEC's, up to 1 MiB) to a
// few.
const (
	DefaultBodyPoolCount = 32
	DefaultBodyPoolBytes = 4 << 20
)

// Size classes: minBodyClass bytes times 1.25^k, so a body from a class
// wastes at most 25% of its capacity when freshly made, and a recycled one
// at most ~56% (a buffer files under the largest class its capacity
// covers). Bodies above maxBodyClass are not pooled.
const (
	minBodyClass = 4 << 10
	maxBodyClass = 64 << 20
)

var bodyClassSizes = func() []int {
	var out []int
	for n := minBodyClass; n <= maxBodyClass; n += max(n/4, 1) {
		out = append(out, n&^1023) // whole KiB
	}
	return out
}()

// BodyPool is a bounded free list of request body buffers, shared by a
// sink's encoder (Get) and the Runner's senders (Put, through Recycler).
// Unlike a sync.Pool it survives garbage collections, so a sink that sends
// one request every few dozen milliseconds allocates no bodies even when the
// collector runs twice a second. It is safe for concurrent use. The zero
// value is not usable; use NewBodyPool.
type BodyPool struct {
	maxCount int
	maxBytes int

	mu    sync.Mutex
	free  []pooledBody // oldest first
	bytes int          // sum of cap over free
}

type pooledBody struct {
	buf   []byte
	class int
}

// NewBodyPool returns a pool holding at most maxCount buffers and maxBytes
// of capacity (0 or less: the defaults).
func NewBodyPool(maxCount, maxBytes int) *BodyPool {
	if maxCount <= 0 {
		maxCount = DefaultBodyPoolCount
	}
	if maxBytes <= 0 {
		maxBytes = DefaultBodyPoolBytes
	}
	return &BodyPool{maxCount: maxCount, maxBytes: maxBytes}
}

// classFor returns the smallest class whose size is at least n, or -1 when n
// is above maxBodyClass.
func classFor(n int) int {
	// Start near the answer: each class is 1.25x the previous, so log2
	// steps are about 3.1 classes.
	lo := 0
	if n > minBodyClass {
		lo = max((bits.Len(uint(n))-bits.Len(uint(minBodyClass))-1)*3, 0)
	}
	for i := lo; i < len(bodyClassSizes); i++ {
		if bodyClassSizes[i] >= n {
			return i
		}
	}
	return -1
}

// classOf returns the largest class whose size is at most c (a capacity), or
// -1 when c is below the smallest class or above maxBodyClass.
func classOf(c int) int {
	if c < minBodyClass || c > bodyClassSizes[len(bodyClassSizes)-1]*5/4 {
		return -1
	}
	i := classFor(c)
	if i < 0 {
		return len(bodyClassSizes) - 1
	}
	if bodyClassSizes[i] > c {
		i--
	}
	return i
}

// Get returns a buffer of length n, recycled when one of n's size class is
// free, else freshly made with the class's capacity. A body the pool would
// not take back (a class over its byte bound) is made to size: rounding it
// up would only waste memory.
// Its content is undefined: the caller overwrites all n bytes. A nil pool
// makes a buffer.
func (p *BodyPool) Get(n int) []byte {
	c := classFor(n)
	if p == nil || c < 0 || bodyClassSizes[c] > p.maxBytes {
		return make([]byte, n)
	}
	p.mu.Lock()
	for i := len(p.free) - 1; i >= 0; i-- { // most recent first: warm in cache
		if e := p.free[i]; e.class == c {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.free[len(p.free):cap(p.free)][0] = pooledBody{} // no stale reference
			p.bytes -= cap(e.buf)
			p.mu.Unlock()
			return e.buf[:n]
		}
	}
	p.mu.Unlock()
	return make([]byte, n, bodyClassSizes[c])
}

// Put hands b back for reuse. The caller must not touch b afterwards. When
// the pool is full the oldest buffers make room (a class nobody asks for
// any more ages out); a buffer outside the size classes, or larger than
// the byte bound, is left to the garbage collector. A nil pool drops b.
func (p *BodyPool) Put(b []byte) {
	c := classOf(cap(b))
	if p == nil || c < 0 || cap(b) > p.maxBytes {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) > 0 && (len(p.free) >= p.maxCount || p.bytes+cap(b) > p.maxBytes) {
		p.bytes -= cap(p.free[0].buf)
		n := copy(p.free, p.free[1:])
		p.free[n] = pooledBody{} // no stale reference
		p.free = p.free[:n]
	}
	if p.free == nil {
		p.free = make([]pooledBody, 0, p.maxCount)
	}
	p.free = append(p.free, pooledBody{buf: b[:0], class: c})
	p.bytes += cap(b)
}

// Stats returns how many buffers and bytes of capacity the pool holds.
func (p *BodyPool) Stats() (count, bytes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free), p.bytes
}
