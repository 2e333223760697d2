//go:build !nokubernetes

package forwarder

import (
	"fmt"
	"testing"

	"github.com/promfwd/promfwd/internal/kubetest"
)

// TestKubernetesSDShards: three replicas discover the same annotated pods
// (30, then 6 more and 3 fewer while they run) and split them, with shard
// {count: 3, index} or with Prometheus' hashmod + keep on the pod's
// namespace and name: every pod is scraped, each by exactly one replica,
// and the deleted pods' targets leave every replica.
func TestKubernetesSDShards(t *testing.T) {
	for _, mode := range []string{"shard", "hashmod"} {
		t.Run(mode, func(t *testing.T) { testKubernetesSDShards(t, mode) })
	}
}

func testKubernetesSDShards(t *testing.T, mode string) {
	api := kubetest.NewServer(kubetest.Options{})
	t.Cleanup(api.Close)
	fl := newFleet(t)
	want := map[string]bool{}
	add := func(from, to int) {
		for i := from; i < to; i++ {
			kubeApply(t, api, kubePod("ns", fmt.Sprintf("pod-%d", i), fl, fmt.Sprintf("/pod/%d", i)))
			want[fmt.Sprintf("/pod/%d", i)] = true
		}
	}
	add(0, 30)

	yamlFor := func(replica int) string {
		shard, split := "", ""
		if mode == "shard" {
			shard = "shard:\n  count: 3\n  index: ${REPLICA}\n"
		} else {
			split = fmt.Sprintf(`
      - {source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name], modulus: 3, target_label: __tmp_hash, action: hashmod}
      - {source_labels: [__tmp_hash], regex: "%d", action: keep}`, replica)
		}
		return fmt.Sprintf(`server: {listen: ""}
%ssources:
  - name: pods
    interval: 1s
    headers: {X-Replica: "${REPLICA}"}
    kubernetes_sd_configs: [{role: pod, api_server: %q}]
%s%s
sinks: [{name: out, type: stdout, max_request_bytes: 65536}]
`, shard, api.URL(), kubeRecipe, split)
	}
	replicas := runReplicas(t, yamlFor, Options{SDUpdateEvery: -1})
	owners := func() map[string][]int {
		owned := map[string][]int{}
		for i, r := range replicas {
			for _, u := range targetURLs(r.f) {
				owned[u] = append(owned[u], i)
			}
		}
		return owned
	}
	allOnce := func() bool {
		o := owners()
		if len(o) != len(want) {
			return false
		}
		for p := range want {
			if rs := o["http://"+fl.host()+p]; len(rs) != 1 {
				return false
			}
		}
		return true
	}
	awaitCond(t, "30 pods owned once across the replicas", allOnce)

	// Churn while running: 6 new pods, 3 deleted.
	add(30, 36)
	for i := range 3 {
		if ok, err := api.Delete(kubePod("ns", fmt.Sprintf("pod-%d", i), fl, "")); !ok || err != nil {
			t.Fatalf("delete pod-%d: %v %v", i, ok, err)
		}
		delete(want, fmt.Sprintf("/pod/%d", i))
	}
	awaitCond(t, "33 pods owned once after the churn", allOnce)
	perReplica := make([]int, 3)
	for _, rs := range owners() {
		perReplica[rs[0]]++
	}
	fl.awaitScraped(t, "every pod scraped", want)
	fl.stopThenCheckScrapedOnce(t, replicas, nil)
	t.Logf("pods per replica: %v", perReplica)
}
