package sinks

import (
	"runtime"
	"testing"
)

func TestBodyPool(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, p *BodyPool)
	}{
		{"fresh body: asked length, capacity of its class", func(t *testing.T, p *BodyPool) {
			for _, n := range []int{0, 1, 4 << 10, 4<<10 + 1, 300_000, 1 << 20, 3<<20 + 7} {
				b := p.Get(n)
				if len(b) != n || cap(b) < n || cap(b) > max(n+n/4+1024, minBodyClass) {
					t.Errorf("Get(%d): len %d cap %d", n, len(b), cap(b))
				}
			}
		}},
		{"a body of the same class is reused, across collections", func(t *testing.T, p *BodyPool) {
			b := p.Get(300_000)
			p.Put(b)
			runtime.GC()
			runtime.GC()
			got := p.Get(290_000)
			if addrOf(got) != addrOf(b) || len(got) != 290_000 {
				t.Fatalf("Get after Put: new buffer (len %d cap %d), want the put one", len(got), cap(got))
			}
			if n, by := p.Stats(); n != 0 || by != 0 {
				t.Fatalf("holds %d buffers (%d bytes) after handing its only one out", n, by)
			}
		}},
		{"another class is not served", func(t *testing.T, p *BodyPool) {
			small := p.Get(10_000)
			p.Put(small)
			if got := p.Get(300_000); addrOf(got) == addrOf(small) {
				t.Fatal("a small buffer served a large body")
			}
			big := p.Get(1 << 20)
			p.Put(big)
			if got := p.Get(10_000); addrOf(got) == addrOf(big) {
				t.Fatal("a 1 MiB buffer served a 10 kB body: the queue would hold 100x its accounted bytes")
			}
		}},
		{"count bound: the oldest leave", func(t *testing.T, p *BodyPool) {
			var bufs [][]byte
			for range 6 {
				bufs = append(bufs, p.Get(8<<10))
			}
			for _, b := range bufs {
				p.Put(b)
			}
			if n, _ := p.Stats(); n != 4 {
				t.Fatalf("holds %d buffers, want 4", n)
			}
			for range 4 {
				a := addrOf(p.Get(8 << 10))
				if a == addrOf(bufs[0]) || a == addrOf(bufs[1]) {
					t.Fatal("an oldest buffer was kept over the count bound")
				}
			}
		}},
		{"byte bound", func(t *testing.T, p *BodyPool) {
			p.Put(p.Get(600 << 10))
			p.Put(p.Get(600 << 10))
			if _, by := p.Stats(); by > 1<<20 {
				t.Fatalf("holds %d bytes, bound 1 MiB", by)
			}
			p.Put(make([]byte, 2<<20)) // over the bound alone
			if _, by := p.Stats(); by > 1<<20 {
				t.Fatalf("holds %d bytes after an oversized Put", by)
			}
		}},
		{"outside the classes: not pooled", func(t *testing.T, p *BodyPool) {
			p.Put(make([]byte, 100))
			p.Put(nil)
			if n, _ := p.Stats(); n != 0 {
				t.Fatalf("holds %d buffers", n)
			}
		}},
		{"foreign capacity files under the class it covers", func(t *testing.T, p *BodyPool) {
			b := make([]byte, 0, 300_001) // a body made elsewhere (metadata, a disk read)
			p.Put(b)
			c := bodyClassSizes[classOf(cap(b))]
			if got := p.Get(c); addrOf(got) != addrOf(b) {
				t.Fatalf("Get(%d) did not reuse a buffer of cap %d", c, cap(b))
			}
			p.Put(b)
			if got := p.Get(c + 1); addrOf(got) == addrOf(b) {
				t.Fatalf("Get(%d) got a buffer of cap %d", c+1, cap(b))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, NewBodyPool(4, 1<<20)) })
	}
	var nilPool *BodyPool
	if b := nilPool.Get(10); len(b) != 10 {
		t.Fatal("nil pool Get")
	}
	nilPool.Put(make([]byte, 8<<10)) // must not panic
}

func TestBodyClasses(t *testing.T) {
	for i := 1; i < len(bodyClassSizes); i++ {
		lo, hi := bodyClassSizes[i-1], bodyClassSizes[i]
		if hi <= lo || hi > lo+lo/4+1024 {
			t.Fatalf("class %d: %d after %d", i, hi, lo)
		}
	}
	for _, n := range []int{1, minBodyClass, minBodyClass + 1, 123_456, 1 << 20, bodyClassSizes[len(bodyClassSizes)-1]} {
		c := classFor(n)
		if c < 0 || bodyClassSizes[c] < n || (c > 0 && bodyClassSizes[c-1] >= n) {
			t.Errorf("classFor(%d) = %d", n, c)
		}
	}
	if classFor(maxBodyClass*2) != -1 {
		t.Error("a body over the largest class has a class")
	}
}

// TestBodyPoolSizesUnpooledBodies: a body the pool would refuse on Put gets
// exactly its size, not its class's capacity.
func TestBodyPoolSizesUnpooledBodies(t *testing.T) {
	p := NewBodyPool(4, 64<<10)
	for _, tc := range []struct {
		n, wantCap int
	}{
		{100 << 10, 100 << 10},                       // its class is over the byte bound
		{10 << 10, bodyClassSizes[classFor(10<<10)]}, // pooled: the class's capacity
	} {
		if b := p.Get(tc.n); len(b) != tc.n || cap(b) != tc.wantCap {
			t.Errorf("Get(%d): len %d cap %d, want cap %d", tc.n, len(b), cap(b), tc.wantCap)
		}
	}
}
