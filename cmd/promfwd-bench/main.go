// Command promfwd-bench is promfwd's end-to-end benchmark: it starts K
// synthetic Prometheus targets and a counting receiver for one sink type on
// 127.0.0.1, runs promfwd as a child process against them for a fixed
// window, and prints the child's CPU per million delivered samples, its RSS,
// delivered versus scraped rates, wire bytes per sample and every error or
// drop promfwd's own /metrics reports. See README.md, "Benchmark".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type options struct {
	targets    int
	series     int
	labels     int
	churn      float64
	interval   time.Duration
	duration   time.Duration
	warmup     time.Duration
	sinks      []string
	idle       bool
	rwURL      string
	promfwd    string
	targetGzip bool
	hecMulti   bool
	hecAck     bool
	ackDelay   time.Duration
	conc       int
	latency    time.Duration
	maxBatch   int
	inProcess  bool
	noDedupe   bool
	cpuProfile string
	memProfile string
	env        []string
	keep       bool
	peer       string
	vmagent    string
	rounds     int
	relabel    int     // metric_relabel_configs rules per source (relabel.go)
	abRounds   int     // >0: alternate relabel off/on this many times
	aggregate  bool    // run each sink without, then with aggRules (aggregate.go)
	aggOn      bool    // this run has the rules
	aggSet     string  // -agg-rules: "mixed" (aggRules) or "few" (aggRulesFew)
	k8sPods    int     // >0: the Kubernetes discovery benchmark (kube.go)
	k8sChurn   float64 // pod changes per second in its churn runs
	kubeAPI    string  // this run discovers its targets from this API server
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("promfwd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var sinkList, env string
	fs.IntVar(&o.targets, "targets", 10, "number of synthetic targets (K)")
	fs.IntVar(&o.series, "series", 20000, "samples per target and scrape (N)")
	fs.IntVar(&o.labels, "labels", 6, "max labels per series (each series has labels-3..labels, at least 2)")
	fs.Float64Var(&o.churn, "churn", 1, "fraction of series whose value changes on every scrape")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "scrape interval")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "measurement window (after warm-up)")
	fs.DurationVar(&o.warmup, "warmup", 15*time.Second, "warm-up before measuring")
	fs.StringVar(&sinkList, "sink", "hec", "sink type(s), comma-separated: hec, remote_write, datadog, or all")
	fs.BoolVar(&o.idle, "idle", false, "run the idle case instead (1 target x 300 series at 1s unless flags say otherwise)")
	fs.StringVar(&o.rwURL, "rw-url", "", "remote_write only: relay every request to this real receiver (e.g. http://127.0.0.1:9090/api/v1/write) and report its rejections")
	fs.StringVar(&o.promfwd, "promfwd", "", "promfwd binary to run (default: go build ./cmd/promfwd into a temp dir)")
	fs.BoolVar(&o.targetGzip, "target-gzip", false, "targets gzip their answers (as client_golang does)")
	fs.BoolVar(&o.hecMulti, "hec-multi", false, "hec: multi_metric events")
	fs.BoolVar(&o.hecAck, "hec-ack", false, "hec: indexer acknowledgement (the receiver issues ackIds; delivered means acked)")
	fs.DurationVar(&o.ackDelay, "ack-delay", 500*time.Millisecond, "hec-ack: how long after acceptance the receiver reports a request acked")
	fs.IntVar(&o.conc, "concurrency", 0, "the sink's concurrency key (0: promfwd's default)")
	fs.IntVar(&o.maxBatch, "max-batch", 0, "the sink's max_batch_samples key (0: promfwd's default)")
	fs.DurationVar(&o.latency, "receiver-latency", 0, "the receiver waits this long before answering each data request (a distant or busy destination)")
	fs.BoolVar(&o.noDedupe, "no-dedupe", false, "turn promfwd's dedupe off (it is on, resend_after 1m, by default here): what its per-series state costs")
	fs.BoolVar(&o.inProcess, "inprocess", false, "run the forwarder in this process (for -cpuprofile; CPU figures then include targets and receiver)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "with -inprocess: write a CPU profile of the window here")
	fs.StringVar(&o.memProfile, "memprofile", "", "with -inprocess: write a heap profile at the end of the window here (with -aggregate: FILE.off and FILE.on)")
	fs.StringVar(&env, "env", "", "extra environment for the child, comma-separated (e.g. GOGC=50,GOMEMLIMIT=100MiB)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (config, child log)")
	fs.StringVar(&o.peer, "peer", "", "also run this peer on the same targets, alternating with promfwd: vmagent")
	fs.StringVar(&o.vmagent, "vmagent", "", "vmagent binary for -peer vmagent (default: PATH, then $(go env GOPATH)/bin)")
	fs.IntVar(&o.rounds, "rounds", 0, "run every pipeline this many times, alternating (default 1, or 2 with -peer)")
	fs.IntVar(&o.relabel, "relabel", 0, "paste this many (up to 5) metric_relabel_configs rules into every source")
	fs.IntVar(&o.abRounds, "ab-relabel", 0, "alternate runs with relabeling off and on (-relabel rules, default 5) this many times on the first sink and print the CPU ratios")
	fs.BoolVar(&o.aggregate, "aggregate", false, "run each sink twice, without and with 10 stream aggregation rules over the workload, and compare CPU per input sample and memory")
	fs.StringVar(&o.aggSet, "agg-rules", "mixed", "with -aggregate: mixed (one rule keeps near-unique output series) or few (every rule grouped by one 50-valued label: the RSS delta is the input side's cost)")
	fs.IntVar(&o.k8sPods, "k8s-pods", 0, "Kubernetes discovery benchmark: this many pods (the first -targets scraped) in a test API server; alternates static urls, discovery idle, discovery with -k8s-churn")
	fs.Float64Var(&o.k8sChurn, "k8s-churn", 20, "with -k8s-pods: pod changes per second in the churn runs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, ok := aggRuleSets[o.aggSet]; !ok {
		fmt.Fprintf(stderr, "-agg-rules: %q is neither mixed nor few\n", o.aggSet)
		return 2
	}
	if o.idle {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["targets"] {
			o.targets = 1
		}
		if !set["series"] {
			o.series = 300
		}
		if !set["interval"] {
			o.interval = time.Second
		}
	}
	if sinkList == "all" {
		sinkList = "hec,remote_write,datadog"
	}
	for _, s := range strings.Split(sinkList, ",") {
		switch s {
		case "hec", "remote_write", "datadog":
			o.sinks = append(o.sinks, s)
		default:
			fmt.Fprintf(stderr, "promfwd-bench: unknown sink %q\n", s)
			return 2
		}
	}
	if o.rwURL != "" && (len(o.sinks) != 1 || o.sinks[0] != "remote_write") {
		fmt.Fprintln(stderr, "promfwd-bench: -rw-url needs -sink remote_write")
		return 2
	}
	if (o.cpuProfile != "" || o.memProfile != "") && !o.inProcess {
		fmt.Fprintln(stderr, "promfwd-bench: -cpuprofile and -memprofile need -inprocess")
		return 2
	}
	switch o.peer {
	case "":
	case "vmagent":
		if o.inProcess {
			fmt.Fprintln(stderr, "promfwd-bench: -peer needs promfwd as a child process (no -inprocess)")
			return 2
		}
		bin, err := findVmagent(o.vmagent)
		if err != nil {
			fmt.Fprintf(stderr, "promfwd-bench: %v\n", err)
			return 2
		}
		o.vmagent = bin
	default:
		fmt.Fprintf(stderr, "promfwd-bench: unknown peer %q (only vmagent)\n", o.peer)
		return 2
	}
	if o.rounds <= 0 {
		o.rounds = 1
		if o.peer != "" {
			o.rounds = 2
		}
	}
	if env != "" {
		o.env = strings.Split(env, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "promfwd-bench: %v\n", err)
		return 1
	}
	return 0
}

// errFailed: the run completed but promfwd or the receiver reported drops,
// failed requests, scrape errors or out-of-order samples.
var errFailed = errors.New("run reported errors")

func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "promfwd-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(stderr, "temp dir: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.promfwd
	if bin == "" && !o.inProcess {
		if bin, err = buildPromfwd(ctx, dir, stderr); err != nil {
			return err
		}
	}
	w := workload{Series: o.series, Labels: max(o.labels, 2), Churn: o.churn, Gzip: o.targetGzip}
	urls, srvs, err := serveTargets(o.targets, w)
	defer func() {
		for _, s := range srvs {
			_ = s.Close()
		}
	}()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workload: %d targets x %d series, labels<=%d, churn %.2f, interval %s, target gzip %v; window %s after %s warm-up; GOMAXPROCS of host %d cpus\n",
		o.targets, o.series, w.Labels, o.churn, o.interval, o.targetGzip, o.duration, o.warmup, numCPU())
	fmt.Fprintf(stdout, "load average at start: %s\n", loadAvg())
	if o.abRounds > 0 {
		return abRelabel(ctx, o, bin, dir, urls, stdout, stderr)
	}
	if o.k8sPods > 0 {
		return kubeBench(ctx, o, bin, dir, urls, stdout, stderr) // kube.go
	}
	failed := false
	var runs []*result
	for round := 1; round <= o.rounds; round++ {
		for _, sink := range o.sinks {
			var plain *result
			for _, agg := range aggRuns(o) { // aggregate.go
				o.aggOn = agg
				res, err := runOne(ctx, o, sink, bin, dir, urls, stderr)
				if err != nil {
					return fmt.Errorf("%s: %w", sink, err)
				}
				res.round = round
				res.print(stdout, o)
				fmt.Fprintf(stdout, "  load average at end: %s\n", loadAvg())
				failed = failed || res.failed()
				runs = append(runs, res)
				if agg {
					compareAggregate(stdout, plain, res, o)
				}
				plain = res
			}
		}
		if o.peer == "vmagent" {
			res, err := runVmagent(ctx, o, dir, urls, stderr)
			if err != nil {
				return fmt.Errorf("vmagent: %w", err)
			}
			res.round = round
			res.print(stdout, o)
			fmt.Fprintf(stdout, "  load average at end: %s\n", loadAvg())
			runs = append(runs, res) // the peer's own errors are reported, not ours to fail on
		}
	}
	if len(runs) > 1 {
		summarize(stdout, runs)
	}
	if failed {
		return errFailed
	}
	return nil
}
