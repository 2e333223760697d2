package forwarder

import (
	"context"
	"time"

	"github.com/promfwd/promfwd/forwarder/discovery"
)

// onceSettle is how long `promfwd once` keeps listening after every
// discoverer has answered, until no more changes come. A Kubernetes
// discoverer answers one object at a time as its informer's queue drains
// (5,000 pods are 5,000 updates in a burst), so its first answer is one
// pod, not the cluster.
const onceSettle = 500 * time.Millisecond

// settleSet waits until set has been quiet for onceSettle (real time: the
// discoverers' informers run on it), or deadline passes, or ctx ends.
func settleSet(ctx context.Context, set *discovery.Set, deadline <-chan time.Time) {
	quiet := time.NewTimer(onceSettle)
	defer quiet.Stop()
	for {
		select {
		case <-set.Changed():
			quiet.Reset(onceSettle)
		case <-quiet.C:
			return
		case <-deadline:
			return
		case <-ctx.Done():
			return
		}
	}
}
