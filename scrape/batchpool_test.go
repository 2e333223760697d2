package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func sameArray(a, b []Sample) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

// TestBatchPoolSizes: a returned array serves a later batch of a similar
// size only (at most about twice too large), zeroed; the pool keeps at most
// its bounds, and an array no Get wants is dropped.
func TestBatchPoolSizes(t *testing.T) {
	p := NewBatchPool(3, 3*1000*sampleSize)
	big, ref := p.NewBatch(1000)
	big = append(big, Sample{Name: "x", Meta: &Meta{Family: "x"}, Value: 1})
	ref.Release()
	if st := p.Stats(); st.Arrays != 1 || st.Bytes != int64(cap(big))*sampleSize {
		t.Fatalf("after release: %+v", st)
	}
	if got := p.get(300); sameArray(got, big) {
		t.Fatal("a 1000-sample array served a 300-sample batch")
	}
	got := p.get(900)
	if !sameArray(got, big) {
		t.Fatal("a 1000-sample array did not serve a 900-sample batch")
	}
	if s := got[:1][0]; s.Name != "" || s.Meta != nil || s.Value != 0 {
		t.Fatalf("a returned array was not zeroed: %+v", s)
	}

	t.Run("bounds", func(t *testing.T) {
		p := NewBatchPool(2, 1<<30)
		for range 4 {
			_, ref := p.NewBatch(10)
			ref.Release()
		}
		if st := p.Stats(); st.Arrays != 1 {
			t.Fatalf("one array at a time: pool holds %d", st.Arrays)
		}
		var refs []*BatchRef
		for range 4 {
			_, r := p.NewBatch(10)
			refs = append(refs, r)
		}
		for _, r := range refs {
			r.Release()
		}
		if st := p.Stats(); st.Arrays != 2 {
			t.Fatalf("count bound 2: pool holds %d", st.Arrays)
		}
		p = NewBatchPool(100, 100*sampleSize)
		_, r := p.NewBatch(101) // alone above the byte bound: not kept
		r.Release()
		if st := p.Stats(); st.Arrays != 0 {
			t.Fatalf("an array above the byte bound was kept: %+v", st)
		}
		_, r60 := p.NewBatch(60)
		_, r50 := p.NewBatch(50)
		r60.Release()
		r50.Release() // does not fit beside the first: the first goes
		if st := p.Stats(); st.Arrays != 1 || st.Bytes != 50*sampleSize {
			t.Fatalf("byte bound: pool holds %+v, want only the last array", st)
		}
	})
	t.Run("idle arrays dropped", func(t *testing.T) {
		p := NewBatchPool(8, 1<<30)
		_, r := p.NewBatch(5000)
		r.Release()
		for range poolMaxIdleGets + 1 {
			_, r := p.NewBatch(10)
			r.Release()
		}
		if st := p.Stats(); st.Bytes > 100*sampleSize {
			t.Fatalf("an array no Get matched is still kept: %+v", st)
		}
	})
}

// TestBatchRefCounting: the array goes back only after the last reference,
// never when pinned; a second release of one reference, or a reference
// taken from a released one, panics instead of corrupting a later batch.
func TestBatchRefCounting(t *testing.T) {
	p := NewBatchPool(0, 0)
	_, job := p.NewBatch(100)
	a, b := job.Ref(), job.Ref()
	job.Release()
	a.Release()
	if p.Stats().Arrays != 0 {
		t.Fatal("array returned while a reference is held")
	}
	b.Release()
	if p.Stats().Arrays != 1 {
		t.Fatal("array not returned after the last reference")
	}
	mustPanic(t, "double release", b.Release)
	mustPanic(t, "ref of a released ref", func() { b.Ref() })

	_, pinned := p.NewBatch(100) // takes the pooled array
	pinned.Pin()
	pinned.Release()
	if p.Stats().Arrays != 0 {
		t.Fatal("a pinned batch went back to the pool")
	}
	var none *BatchRef // not pooled: every operation is a no-op
	none.Pin()
	none.Ref().Release()
	none.Release()
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

// TestTargetPooledBatch: scrapes of real targets draw their arrays from a
// shared pool. A batch whose reference is held is never handed out again
// (the next scrape's values do not show through), a released one is; a
// target with an ETag keeps its batch for a 304, so it is pinned and a
// later 304 answers the original values even after other targets scraped.
func TestTargetPooledBatch(t *testing.T) {
	const series = 50
	body := func(v int) string {
		var b strings.Builder
		for s := range series {
			fmt.Fprintf(&b, "m{s=\"%d\"} %d\n", s, v)
		}
		return b.String()
	}
	var n atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(body(int(n.Add(1)))))
	}))
	defer plain.Close()
	etagged := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte(body(1000)))
	}))
	defer etagged.Close()

	pool := NewBatchPool(0, 0)
	newTarget := func(name, url string) *Target {
		tg, err := NewTarget(TargetConfig{Name: name, URL: url + "/metrics", BatchPool: pool})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	check := func(what string, samples []Sample, want float64) {
		t.Helper()
		if len(samples) != series {
			t.Fatalf("%s: %d samples, want %d", what, len(samples), series)
		}
		for i, s := range samples {
			if s.Name != "m" || s.Value != want || s.Labels.Get("s") != fmt.Sprint(i) {
				t.Fatalf("%s: sample %d is %s%v %v, want m{s=%d} %v", what, i, s.Name, s.Labels, s.Value, i, want)
			}
		}
	}

	tg := newTarget("plain", plain.URL)
	r1 := tg.Scrape(ctx, now)
	if r1.Err != nil || r1.Batch == nil {
		t.Fatalf("first scrape: err %v, batch %v", r1.Err, r1.Batch)
	}
	held := r1.Batch.Ref() // a sink that has not encoded yet
	r1.Batch.Release()
	for i := 2; i <= 4; i++ {
		r := tg.Scrape(ctx, now)
		if sameArray(r.Samples, r1.Samples) {
			t.Fatalf("scrape %d reused the array of a batch still referenced", i)
		}
		check(fmt.Sprint("scrape ", i), r.Samples, float64(i))
		r.Batch.Release()
	}
	check("held first batch", r1.Samples, 1)
	held.Release()
	r5 := tg.Scrape(ctx, now)
	if st := pool.Stats(); st.Reused == 0 {
		t.Fatalf("released arrays were not reused: %+v", st)
	}
	check("scrape 5", r5.Samples, 5)
	r5.Batch.Release()

	et := newTarget("etag", etagged.URL)
	e1 := et.Scrape(ctx, now)
	check("etag scrape", e1.Samples, 1000)
	e1.Batch.Release() // pinned: the target keeps the samples for a 304
	for i := range 3 {
		r := tg.Scrape(ctx, now)
		if sameArray(r.Samples, e1.Samples) {
			t.Fatalf("scrape %d reused the array a 304 reads", i)
		}
		r.Batch.Release()
	}
	e2 := et.Scrape(ctx, now.Add(time.Second))
	if !e2.Unchanged || e2.Batch != nil {
		t.Fatalf("304: unchanged %v, batch %v", e2.Unchanged, e2.Batch)
	}
	check("304 answer", e2.Samples, 1000)
}
