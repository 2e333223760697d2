package scrape

import "sync"

// Scrape body buffers are shared by the targets of the process through one
// bounded free list. Scrapes of different sources rarely overlap (their
// start offsets are spread over the interval), so a few buffers serve every
// target where one buffer per target would stay live between scrapes (at
// 10 targets of 20k series that was ~20 MB of heap). Unlike the sync.Pool
// it replaces, the list survives garbage collections: at 1M series the
// collector runs about twice a second and emptied the pool between two
// scrapes, so every scrape allocated its body again (~4 MB/s).
//
// Retained memory: at most maxFreeBodies buffers and maxFreeBodyBytes of
// capacity. A buffer that no scrape took during the last bodyIdleGets
// scrapes is dropped, so the list shrinks to what the scrapes in flight at
// one time need, and a buffer much larger than its answer (a one-off huge
// answer) is never kept (keepBodyBuffer). It is a cache, not state: nothing
// observable depends on it.
//
// One list per process (the forwarder makes it and hands it to every
// target through TargetConfig.BodyBuffers); a target without one allocates
// each body.
const (
	maxFreeBodies    = 2
	maxFreeBodyBytes = 32 << 20
	bodyIdleGets     = 256
)

// BodyBuffers is a free list of scrape body buffers shared by targets.
// Safe for concurrent use; a nil *BodyBuffers keeps nothing.
type BodyBuffers struct {
	maxCount, maxBytes int
	idle               uint64

	mu    sync.Mutex
	free  []freeBody
	bytes int
	gets  uint64 // Get calls so far: the clock of idleness
}

type freeBody struct {
	buf []byte
	at  uint64 // gets when it was put
}

// NewBodyBuffers returns an empty list with the default bounds.
func NewBodyBuffers() *BodyBuffers {
	return newBodyBuffers(maxFreeBodies, maxFreeBodyBytes, bodyIdleGets)
}

func newBodyBuffers(maxCount, maxBytes int, idle uint64) *BodyBuffers {
	return &BodyBuffers{maxCount: maxCount, maxBytes: maxBytes, idle: idle}
}

// get returns an empty buffer for an answer of hint bytes (the expected
// size + 1; 0 or less when unknown): the smallest free one that holds hint
// and that put would keep after such an answer, or with no hint the
// smallest one. It returns nil when none fits (readBounded then makes one).
func (l *BodyBuffers) get(hint int64) []byte {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gets++
	l.trimLocked()
	best := -1
	for i, f := range l.free {
		c := int64(cap(f.buf))
		switch {
		case hint > 0 && (c < hint || c > 4*hint+4*minBodyBuffer):
			// Too small, or so large that put would drop it after this
			// answer (keepBodyBuffer): it stays for the target it fits.
		case best < 0 || c < int64(cap(l.free[best].buf)):
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := l.free[best].buf
	l.removeLocked(best)
	return b[:0]
}

// put hands b back. When the list is full the buffer idle the longest makes
// room; b is dropped if it is not worth keeping or larger than the bound.
func (l *BodyBuffers) put(b []byte) {
	if l == nil || !keepBodyBuffer(b) || cap(b) > l.maxBytes {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.free) > 0 && (len(l.free) >= l.maxCount || l.bytes+cap(b) > l.maxBytes) {
		l.removeLocked(0) // oldest put first
	}
	l.free = append(l.free, freeBody{buf: b[:0], at: l.gets})
	l.bytes += cap(b)
}

// trimLocked drops buffers nobody took during the last idle gets.
func (l *BodyBuffers) trimLocked() {
	for len(l.free) > 0 && l.gets-l.free[0].at > l.idle {
		l.removeLocked(0)
	}
}

// removeLocked removes entry i, keeping the others in put order.
func (l *BodyBuffers) removeLocked(i int) {
	l.bytes -= cap(l.free[i].buf)
	n := copy(l.free[i:], l.free[i+1:])
	l.free[i+n] = freeBody{}
	l.free = l.free[:i+n]
}

// stats returns the buffers held and their capacity.
func (l *BodyBuffers) stats() (count, bytes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.free), l.bytes
}

// keepBodyBuffer reports whether b is worth keeping: not when most of its
// capacity went unused, so a one-off huge answer is not held.
func keepBodyBuffer(b []byte) bool {
	return b != nil && cap(b) <= 4*len(b)+4*minBodyBuffer
}
