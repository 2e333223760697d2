package scrape

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// sampleSize is the size of one Sample in a batch array.
const sampleSize = int64(unsafe.Sizeof(Sample{}))

// Defaults of a BatchPool. A scrape's batch lives from its parse until
// every sink has encoded it, so at 1M series (50 targets of 20k, 1.7 MB
// arrays) a few arrays are in flight and the free list needs only one or
// two between one release and the next parse. Every byte it holds is live
// heap, which the collector's headroom adds to, so it is kept small; an
// array above the byte bound (a target of more than ~50k samples) is not
// kept at all.
const (
	DefaultPoolMaxArrays = 16
	DefaultPoolMaxBytes  = 4 << 20
	// poolMaxIdleGets: an array passed over by this many Gets (its size
	// matches no target any more) is dropped.
	poolMaxIdleGets = 64
)

// BatchPool is a free list of []Sample arrays shared by the targets of one
// process, so that a parse can reuse the array of an earlier scrape once
// every sink has encoded it instead of allocating ~80 bytes per sample.
// It is bounded in arrays and bytes, hands an array only to a parse that
// needs at least about half of it (targets range from a few hundred to
// 100k series), and drops arrays that go unused. Arrays are
// zeroed when returned, so the free list keeps no label set, name or Meta
// alive. Safe for concurrent use.
type BatchPool struct {
	maxArrays int
	maxBytes  int64

	mu    sync.Mutex
	free  []pooled
	bytes int64
	gets  uint64

	// Counters for tests and the README's figures.
	reused, allocated atomic.Int64
}

type pooled struct {
	s    []Sample // len 0
	tick uint64   // gets when it was put
}

// NewBatchPool returns a pool keeping at most maxArrays arrays and maxBytes
// bytes of them (defaults for values <= 0).
func NewBatchPool(maxArrays int, maxBytes int64) *BatchPool {
	if maxArrays <= 0 {
		maxArrays = DefaultPoolMaxArrays
	}
	if maxBytes <= 0 {
		maxBytes = DefaultPoolMaxBytes
	}
	return &BatchPool{maxArrays: maxArrays, maxBytes: maxBytes}
}

// get returns an empty array of capacity at least n: the smallest free one
// that is not more than twice too large, else a new one.
func (p *BatchPool) get(n int) []Sample {
	p.mu.Lock()
	p.gets++
	best := -1
	for i := 0; i < len(p.free); i++ {
		e := &p.free[i]
		if p.gets-e.tick > poolMaxIdleGets {
			p.removeLocked(i)
			i--
			continue
		}
		if c := cap(e.s); c >= n && c <= 2*n+64 && (best < 0 || c < cap(p.free[best].s)) {
			best = i
		}
	}
	if best >= 0 {
		s := p.free[best].s
		p.removeLocked(best)
		p.mu.Unlock()
		p.reused.Add(1)
		return s
	}
	p.mu.Unlock()
	p.allocated.Add(1)
	return make([]Sample, 0, n)
}

// put zeroes s's whole array and keeps it unless it alone exceeds the
// byte bound; the least recently put arrays make room.
func (p *BatchPool) put(s []Sample) {
	size := int64(cap(s)) * sampleSize
	if size == 0 || size > p.maxBytes {
		return // not kept: nothing to clear
	}
	s = s[:cap(s)]
	clear(s) // drop the names, label sets and Meta it points to
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) > 0 && (len(p.free) >= p.maxArrays || p.bytes+size > p.maxBytes) {
		p.removeLocked(0) // the oldest
	}
	p.free = append(p.free, pooled{s: s[:0], tick: p.gets})
	p.bytes += size
}

func (p *BatchPool) removeLocked(i int) {
	p.bytes -= int64(cap(p.free[i].s)) * sampleSize
	copy(p.free[i:], p.free[i+1:])
	p.free[len(p.free)-1] = pooled{}
	p.free = p.free[:len(p.free)-1]
}

// PoolStats is what a BatchPool holds and did.
type PoolStats struct {
	Arrays    int   // free arrays held
	Bytes     int64 // their size
	Reused    int64 // gets served from the free list
	Allocated int64 // gets that allocated
}

// Stats returns the pool's current contents and counters.
func (p *BatchPool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Arrays: len(p.free), Bytes: p.bytes, Reused: p.reused.Load(), Allocated: p.allocated.Load()}
}

// Batch is the array behind one scrape's samples, drawn from a BatchPool.
// It goes back to the pool when its last reference is released, unless it
// was pinned: something kept its samples where no reference tracks them.
// A reference that is never released only keeps the array from the pool
// (the GC frees it as usual); releasing one twice panics.
type Batch struct {
	pool   *BatchPool
	arr    []Sample
	refs   atomic.Int64
	pinned atomic.Bool
}

// BatchRef is one holder's reference to a Batch. A nil *BatchRef is valid
// and does nothing (samples that are not pooled).
type BatchRef struct {
	b    *Batch
	done atomic.Bool
}

// newBatch returns a batch over arr and its first reference.
func newBatch(pool *BatchPool, arr []Sample) *BatchRef {
	b := &Batch{pool: pool, arr: arr[:0:cap(arr)]}
	b.refs.Store(1)
	return &BatchRef{b: b}
}

// Ref returns another reference to r's batch. r must still be held: the
// new reference keeps the batch out of the pool until it too is released.
func (r *BatchRef) Ref() *BatchRef {
	if r == nil {
		return nil
	}
	if r.done.Load() {
		panic("scrape: batch reference taken from a released reference")
	}
	r.b.refs.Add(1)
	return &BatchRef{b: r.b}
}

// Pin marks r's batch as kept by something references do not track (a
// cached copy of the samples): it never goes back to the pool.
func (r *BatchRef) Pin() {
	if r == nil {
		return
	}
	if r.done.Load() {
		panic("scrape: batch pinned through a released reference")
	}
	r.b.pinned.Store(true)
}

// Release drops r. The last release returns the batch's array to the pool
// (zeroed), unless the batch is pinned. Releasing r twice panics: an extra
// release would hand the array out while a holder still reads it. As each
// reference is released once and a new one is only taken from a held one,
// the count reaches zero exactly once.
func (r *BatchRef) Release() {
	if r == nil {
		return
	}
	if !r.done.CompareAndSwap(false, true) {
		panic("scrape: batch reference released twice")
	}
	b := r.b
	if b.refs.Add(-1) > 0 {
		return
	}
	arr := b.arr
	b.arr = nil
	if !b.pinned.Load() {
		b.pool.put(arr)
	}
}

// NewBatch returns an empty array of capacity at least n from the pool and
// the first reference to it, for a caller that fills the array itself
// (appending within its capacity) and hands the samples on with references.
func (p *BatchPool) NewBatch(n int) ([]Sample, *BatchRef) {
	s := p.get(n)
	return s, newBatch(p, s)
}
