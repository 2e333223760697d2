package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// workload describes one synthetic target's exposition.
type workload struct {
	Series int     // samples per scrape
	Labels int     // max labels per series (min is Labels-3, at least 1)
	Churn  float64 // fraction of series whose value changes per scrape
	Gzip   bool    // gzip the answer when the scraper accepts it
}

// line is one pre-rendered sample line without its value.
type line struct {
	head    []byte // # HELP/# TYPE block written before this line, when it starts a family
	prefix  []byte // `name{labels} `
	kind    byte   // 'c' counter, 'g' gauge, 'b' bucket, 's' sum, 'n' count
	bucket  int    // for 'b': bucket index (cumulative counts)
	changes bool   // value changes every scrape (churn)
}

// target serves a Prometheus text exposition whose values move on every
// scrape. The family mix follows the issue: 60% counters, 30% gauges, 10%
// histogram samples (10 buckets + _sum + _count per series).
type target struct {
	w     workload
	lines []line

	mu    sync.Mutex
	n     int64 // scrapes served
	buf   bytes.Buffer
	gzbuf bytes.Buffer
	gz    *gzip.Writer
}

const bucketsPerHistogram = 10

func newTarget(id int, w workload) *target {
	t := &target{w: w}
	r := rand.New(rand.NewPCG(uint64(id)+1, 42))
	nCounter := w.Series * 60 / 100
	nGauge := w.Series * 30 / 100
	nHist := (w.Series - nCounter - nGauge) / (bucketsPerHistogram + 2)
	nCounter = w.Series - nGauge - nHist*(bucketsPerHistogram+2) // fill rounding with counters

	const perFamily = 100
	// head is the family block the next appended line starts with.
	var head []byte
	addFamily := func(name, typ string) {
		head = fmt.Appendf(nil, "# HELP %s Synthetic %s for the benchmark.\n# TYPE %s %s\n", name, typ, name, typ)
	}
	add := func(l line) {
		l.head, head = head, nil
		t.lines = append(t.lines, l)
	}
	labels := func(i int) []byte {
		minL := max(w.Labels-3, 1)
		n := minL + r.IntN(w.Labels-minL+1)
		var b []byte
		b = fmt.Appendf(b, `instance="bench-%d",series="%d"`, id, i)
		for j := 2; j < n; j++ {
			b = fmt.Appendf(b, `,l%d="value-%d-%d"`, j, j, r.IntN(50))
		}
		return b
	}
	churn := func() bool { return r.Float64() < w.Churn }
	for i := 0; i < nCounter; i++ {
		if i%perFamily == 0 {
			addFamily(fmt.Sprintf("bench_requests_%d_total", i/perFamily), "counter")
		}
		add(line{prefix: fmt.Appendf(nil, "bench_requests_%d_total{%s} ", i/perFamily, labels(i)), kind: 'c', changes: churn()})
	}
	for i := 0; i < nGauge; i++ {
		if i%perFamily == 0 {
			addFamily(fmt.Sprintf("bench_temperature_%d", i/perFamily), "gauge")
		}
		add(line{prefix: fmt.Appendf(nil, "bench_temperature_%d{%s} ", i/perFamily, labels(i)), kind: 'g', changes: churn()})
	}
	const histPerFamily = 20
	for i := 0; i < nHist; i++ {
		fam := fmt.Sprintf("bench_latency_%d_seconds", i/histPerFamily)
		if i%histPerFamily == 0 {
			addFamily(fam, "histogram")
		}
		ls := labels(i)
		ch := churn()
		for b := 0; b < bucketsPerHistogram; b++ {
			le := "+Inf"
			if b < bucketsPerHistogram-1 {
				le = strconv.FormatFloat(0.005*float64(int(1)<<b), 'g', -1, 64)
			}
			add(line{prefix: fmt.Appendf(nil, "%s_bucket{%s,le=%q} ", fam, ls, le), kind: 'b', bucket: b, changes: ch})
		}
		add(line{prefix: fmt.Appendf(nil, "%s_sum{%s} ", fam, ls), kind: 's', changes: ch})
		add(line{prefix: fmt.Appendf(nil, "%s_count{%s} ", fam, ls), kind: 'n', changes: ch})
	}
	t.gz, _ = gzip.NewWriterLevel(&t.gzbuf, gzip.BestSpeed)
	return t
}

// render writes scrape number n of the exposition into t.buf, reusing its
// storage from the previous scrape.
func (t *target) render(n int64) {
	t.buf.Reset()
	b := t.buf.AvailableBuffer()
	for i := range t.lines {
		l := &t.lines[i]
		b = append(b, l.head...)
		b = append(b, l.prefix...)
		step := int64(0)
		if l.changes {
			step = n
		}
		switch l.kind {
		case 'c':
			b = strconv.AppendInt(b, int64(i)+step*int64(1+i%7), 10)
		case 'g':
			b = strconv.AppendFloat(b, float64(i%1000)+float64(step%100)*0.25, 'g', -1, 64)
		case 'b':
			b = strconv.AppendInt(b, (int64(l.bucket)+1)*(10+step), 10)
		case 's':
			b = strconv.AppendFloat(b, float64(10+step)*1.5, 'g', -1, 64)
		case 'n':
			b = strconv.AppendInt(b, bucketsPerHistogram*(10+step), 10)
		}
		b = append(b, '\n')
	}
	t.buf.Write(b)
}

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	t.render(t.n)
	body := t.buf.Bytes()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if t.w.Gzip && acceptsGzip(r) {
		t.gzbuf.Reset()
		t.gz.Reset(&t.gzbuf)
		_, _ = t.gz.Write(body)
		_ = t.gz.Close()
		body = t.gzbuf.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
}

// serveTargets starts k targets on 127.0.0.1 and returns their URLs.
func serveTargets(k int, w workload) ([]string, []*http.Server, error) {
	var urls []string
	var srvs []*http.Server
	for i := 0; i < k; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, srvs, fmt.Errorf("target %d: listen: %w", i, err)
		}
		srv := &http.Server{Handler: newTarget(i, w)}
		go func() { _ = srv.Serve(ln) }()
		srvs = append(srvs, srv)
		urls = append(urls, "http://"+ln.Addr().String()+"/metrics")
	}
	return urls, srvs, nil
}
