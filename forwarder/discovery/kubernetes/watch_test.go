package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/promfwd/promfwd/forwarder/discovery/sdtest"
	"github.com/promfwd/promfwd/internal/kubetest"
)

// TestWatchExpired: a watch from a resource version older than the
// server's history ends with errGone (410), which makes the watcher list
// again instead of failing.
func TestWatchExpired(t *testing.T) {
	api := kubetest.NewServer(kubetest.Options{History: 2})
	t.Cleanup(api.Close)
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"} {
		if _, err := api.Apply(testPod("default", "p", "n1", ip, corev1.PodRunning, corev1.ConditionTrue, nil)); err != nil {
			t.Fatal(err)
		}
	}
	c := decodeConfig(t, `{role: pod, api_server: `+api.URL()+`}`)
	cl, _, err := newClient(c)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan event, 1)
	w := &watcher{c: cl, kind: kindPod, out: out, log: slog.New(slog.DiscardHandler),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "f"}), watchTimeout: time.Minute}
	if _, err := w.watch(context.Background(), "1"); !errors.Is(err, errGone) {
		t.Fatalf("watch from an expired version: %v, want errGone", err)
	}
	rv, err := w.list(context.Background())
	if err != nil || rv != api.ResourceVersion() {
		t.Fatalf("list: version %q, %v; want %s", rv, err, api.ResourceVersion())
	}
	if e := <-out; e.typ != evReplace || len(e.all) != 1 || e.all["default/p"].(*pod).Status.PodIP != "10.0.0.4" {
		t.Errorf("list sent %+v", e)
	}
}

// TestOutageRelists: while the API server fails, the groups stay; once
// it is back, the watcher lists again and what changed meanwhile (a
// delete, an add, an update) reaches the groups, the delete as an empty
// group.
func TestOutageRelists(t *testing.T) {
	api := apiWithPods(t, kubetest.Options{})
	col := startOurs(t, decodeConfig(t, `{role: pod, api_server: `+api.URL()+`}`))
	sdtest.WaitFor(t, "both pods", func() bool { return col.has("pod/default/a") && col.has("pod/apps/b") })
	lists := api.Stats().Lists

	api.Fail(http.StatusServiceUnavailable)
	if _, err := api.Delete(testPod("default", "a", "", "", "", "", nil)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{
		testPod("apps", "b", "n1", "10.0.0.22", corev1.PodRunning, corev1.ConditionTrue, nil),
		testPod("apps", "c", "n1", "10.0.0.3", corev1.PodRunning, corev1.ConditionTrue, nil),
	} {
		if _, err := api.Apply(p); err != nil {
			t.Fatal(err)
		}
	}
	sdtest.WaitFor(t, "requests failing", func() bool { return api.Stats().Failed >= 2 })
	if !col.has("pod/default/a") {
		t.Error("a group was dropped during the outage")
	}
	api.Fail(0)
	sdtest.WaitFor(t, "the changes made during the outage", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		a, b := col.groups["pod/default/a"], col.groups["pod/apps/b"]
		return a != nil && len(a.Targets) == 0 && b != nil && b.Labels[podIPLabel] == "10.0.0.22" && col.groups["pod/apps/c"] != nil
	})
	if api.Stats().Lists <= lists {
		t.Error("no list after the outage")
	}
}

// TestRunStops: cancelling the context ends Run and every watch.
func TestRunStops(t *testing.T) {
	api := apiWithPods(t, kubetest.Options{})
	c := decodeConfig(t, `{role: endpoints, api_server: `+api.URL()+`, attach_metadata: {node: true, namespace: true}}`)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	runDiscoverer(ctx, &wg, newOurs(t, c))
	sdtest.WaitFor(t, "five watches open", func() bool { return api.Stats().OpenWatches == 5 })
	cancel()
	wg.Wait()
	sdtest.WaitFor(t, "watches closed", func() bool { return api.Stats().OpenWatches == 0 })
}

// TestListPages: a list comes in pages of listPageSize, all of them kept.
func TestListPages(t *testing.T) {
	api := kubetest.NewServer(kubetest.Options{})
	t.Cleanup(api.Close)
	const n = 2*listPageSize + 7
	for i := range n {
		p := testPod("default", fmt.Sprintf("p-%04d", i), "n1", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), corev1.PodRunning, corev1.ConditionTrue, nil)
		if _, err := api.Apply(p); err != nil {
			t.Fatal(err)
		}
	}
	col := startOurs(t, decodeConfig(t, `{role: pod, api_server: `+api.URL()+`}`))
	sdtest.WaitFor(t, "every pod", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		return len(col.groups) == n
	})
	if got := api.Stats().Lists; got != 3 {
		t.Errorf("%d list requests for %d pods, want 3 pages", got, n)
	}
}
