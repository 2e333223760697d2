package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// The Kubernetes discovery benchmark (-k8s-pods N): a test API server
// (internal/kubetest) in this process holds N pods of realistic size; the
// first -targets of them are annotated prometheus.io/scrape=true and point
// at the synthetic targets, the rest are not scraped. promfwd discovers
// them with kubernetes_sd_configs and the annotation recipe while -k8s-churn
// changes per second hit the pods (label and annotation updates, deletes
// and re-creates; one change in ten touches a scraped pod in a way the
// recipe ignores). Three pipelines alternate: static (the same targets as
// url sources, no discovery), k8s idle (N pods, no churn), k8s churn.

const (
	pipeStatic    = "static urls"
	pipeKubeIdle  = "k8s pods, idle"
	pipeKubeChurn = "k8s pods, churn"
)

// kubeRecipe is the target selection of deploy/kubernetes' recipe (keep,
// path, address); its label mapping is left out so the discovered targets'
// series carry the same labels as the static ones and CPU compares
// discovery alone.
const kubeRecipe = `    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: "true"
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        regex: (.+)
        target_label: __metrics_path__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
        regex: (\d+);((([0-9]+?)(\.|$)){4})
        replacement: $2:$1
        target_label: __address__
`

func kubeSource(o options) string {
	timeout := max(o.interval*8/10, 500*time.Millisecond)
	return fmt.Sprintf("  - name: pods\n    interval: %s\n    timeout: %s\n    kubernetes_sd_configs: [{role: pod, api_server: %q}]\n%s%s",
		o.interval, timeout, o.kubeAPI, kubeRecipe, relabelBlock(o.relabel))
}

// kubeBench runs the three pipelines -rounds times (default 1) on the
// first sink and prints their CPU, memory and scrape figures side by side.
func kubeBench(ctx context.Context, o options, bin, dir string, urls []string, stdout, stderr io.Writer) error {
	api := kubetest.NewServer(kubetest.Options{})
	defer api.Close()
	pods, err := newPodSet(api, o.k8sPods, urls)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "kubernetes: %d pods (%d scraped), ~%d bytes of JSON each; churn %.0f changes/s in the churn runs\n",
		o.k8sPods, len(urls), pods.avgBytes, o.k8sChurn)
	rounds := max(o.rounds, 1)
	sink := o.sinks[0]
	var runs []*result
	for round := 1; round <= rounds; round++ {
		for _, pipe := range []string{pipeStatic, pipeKubeIdle, pipeKubeChurn} {
			oo := o
			if pipe != pipeStatic {
				oo.kubeAPI = api.URL()
			}
			stop := func() int { return 0 }
			if pipe == pipeKubeChurn {
				stop = pods.churn(ctx, o.k8sChurn)
			}
			res, err := runOne(ctx, oo, sink, bin, dir, urls, stderr)
			changes := stop()
			if err != nil {
				return fmt.Errorf("%s: %w", pipe, err)
			}
			res.pipeline, res.round = pipe, round
			res.print(stdout, oo)
			fmt.Fprintf(stdout, "  scrapes %d in the window (%.1f%% of %d targets x window/interval), mean scrape %.1f ms; pod changes %d (%.1f/s over the run)\n",
				int(res.scrapes), 100*res.scrapes/expectedScrapes(o, res.window), len(urls), 1000*res.scrapeSecs/max(res.scrapes, 1),
				changes, float64(changes)/max(res.window+o.warmup, time.Second).Seconds())
			runs = append(runs, res)
		}
	}
	fmt.Fprintf(stdout, "\n== kubernetes discovery (%d pods, %.0f changes/s), sink %s\n", o.k8sPods, o.k8sChurn, sink)
	fmt.Fprintf(stdout, "  %-18s %5s %10s %14s %12s %12s %10s\n", "pipeline", "round", "CPU ms/s", "RSS steady MiB", "RSS peak MiB", "scrapes %", "scrape ms")
	for _, r := range runs {
		fmt.Fprintf(stdout, "  %-18s %5d %10.1f %14.1f %12.1f %12.1f %10.2f\n", r.pipeline, r.round,
			float64(r.cpu.Milliseconds())/r.window.Seconds(), mib(r.rssSteady), mib(r.rssP),
			100*r.scrapes/expectedScrapes(o, r.window), 1000*r.scrapeSecs/max(r.scrapes, 1))
	}
	return nil
}

func expectedScrapes(o options, window time.Duration) float64 {
	return float64(o.targets) * window.Seconds() / o.interval.Seconds()
}

// podSet is the benchmark's pods: scraped ones (index < len(urls)) and
// the rest, which churn.
type podSet struct {
	api      *kubetest.Server
	urls     []string
	mu       sync.Mutex
	live     []int // indexes of the unscraped pods that exist
	next     int   // next pod index to create
	gen      int
	avgBytes int
}

func newPodSet(api *kubetest.Server, n int, urls []string) (*podSet, error) {
	s := &podSet{api: api, urls: urls}
	total := 0
	for i := range max(n, len(urls)) {
		b, err := s.apply(i)
		if err != nil {
			return nil, err
		}
		total += b
		if i >= len(urls) {
			s.live = append(s.live, i)
		}
	}
	s.next = max(n, len(urls))
	s.avgBytes = total / max(n, 1)
	return s, nil
}

// apply creates or updates pod i (generation s.gen), returning its size.
func (s *podSet) apply(i int) (int, error) {
	ip, port, path := fmt.Sprintf("10.%d.%d.%d", 1+i/65536, i/256%256, i%256), "8080", "/metrics"
	scraped := i < len(s.urls)
	if scraped {
		u, err := url.Parse(s.urls[i])
		if err != nil {
			return 0, err
		}
		h, p, _ := net.SplitHostPort(u.Host)
		ip, port, path = h, p, u.Path
	}
	p := benchPod(i, ip, port, path, scraped, s.gen)
	if _, err := s.api.Apply(p); err != nil {
		return 0, err
	}
	b, err := json.Marshal(p)
	return len(b), err
}

// churn starts changing pods at rate per second; the returned func stops
// it and returns how many changes were made.
func (s *podSet) churn(ctx context.Context, rate float64) func() int {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		if rate <= 0 {
			<-ctx.Done()
			return
		}
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		r := rand.New(rand.NewPCG(7, 7))
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := s.change(r, n); err == nil {
				n++
			}
		}
	}()
	return func() int { cancel(); return <-done }
}

// change makes the n-th change: in every ten, one ignorable update of a
// scraped pod, two deletes, two creates and five label or annotation
// updates of unscraped pods.
func (s *podSet) change(r *rand.Rand, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	switch n % 10 {
	case 0:
		if len(s.urls) == 0 {
			return nil
		}
		_, err := s.apply(r.IntN(len(s.urls)))
		return err
	case 1, 2:
		if len(s.live) == 0 {
			return nil
		}
		k := r.IntN(len(s.live))
		i := s.live[k]
		s.live = append(s.live[:k], s.live[k+1:]...)
		_, err := s.api.Delete(benchPod(i, "", "", "", false, 0))
		return err
	case 3, 4:
		i := s.next
		s.next++
		s.live = append(s.live, i)
		_, err := s.apply(i)
		return err
	default:
		if len(s.live) == 0 {
			return nil
		}
		_, err := s.apply(s.live[r.IntN(len(s.live))])
		return err
	}
}
