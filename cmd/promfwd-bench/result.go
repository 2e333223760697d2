package main

import (
	"fmt"
	"io"
	"time"
)

// result is one sink's measurement over the window.
type result struct {
	sink             string
	pipeline         string // "" for promfwd; the peer's name otherwise
	round            int
	window           time.Duration
	cpu              time.Duration
	rssSteady, rssP  int64 // average VmRSS in the window; VmHWM at the end
	rssAnon, rssFile int64 // at the end: heap and stacks vs mapped binary
	recv             counts
	scraped          float64
	dropped          float64
	failedReq        float64
	retries          float64
	scrapeErrs       float64
	pending          float64
	dups, ooo        int64
	fwdStatus        map[int]int64
	lastErr          string
	upstream         []string // -rw-url: the receiver's own counters
	ack              *ackResult
	inProcess        bool
	aggOn            bool
	aggIn, aggOut    float64 // input samples matched in the window; output series held at the end
	aggDropped       float64
	scrapes          float64 // scrapes in the window, and their summed duration
	scrapeSecs       float64
}

func (r *result) failed() bool {
	return r.dropped > 0 || r.aggDropped > 0 || r.failedReq > 0 || r.scrapeErrs > 0 || r.recv.Bad > 0 || r.dups > 0 || r.ooo > 0
}

func (r *result) print(w io.Writer, o options) {
	secs := r.window.Seconds()
	perM := func(n int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(r.cpu.Milliseconds()) / (float64(n) / 1e6)
	}
	what := "promfwd child"
	switch {
	case r.inProcess:
		what = "whole bench process (in-process mode)"
	case r.pipeline != "":
		what = r.pipeline + " child"
	}
	if r.aggOn {
		what += ", with the 10 aggregation rules"
	}
	fmt.Fprintf(w, "\n== sink %s (%s, round %d)\n", r.sink, what, r.round)
	fmt.Fprintf(w, "  samples/s scraped      %10.0f\n", r.scraped/secs)
	fmt.Fprintf(w, "  samples/s delivered    %10.0f   (receiver counted %d in %d requests)\n", float64(r.recv.Samples)/secs, r.recv.Samples, r.recv.Requests)
	fmt.Fprintf(w, "  CPU                    %10.0f ms/s (%.1f%% of one core)\n", float64(r.cpu.Milliseconds())/secs, 100*r.cpu.Seconds()/secs)
	if !o.idle {
		fmt.Fprintf(w, "  CPU per 1M delivered   %10.0f ms\n", perM(r.recv.Samples))
	}
	fmt.Fprintf(w, "  RSS steady / peak      %10.1f / %.1f MiB (at end: anon %.1f, file %.1f)\n", mib(r.rssSteady), mib(r.rssP), mib(r.rssAnon), mib(r.rssFile))
	if r.recv.Samples > 0 {
		fmt.Fprintf(w, "  wire bytes/sample      %10.2f   (%.2f uncompressed)\n", float64(r.recv.Wire)/float64(r.recv.Samples), float64(r.recv.Raw)/float64(r.recv.Samples))
	}
	fmt.Fprintf(w, "  errors: dropped=%.0f failed_requests=%.0f retries=%.0f scrape_errors=%.0f undecodable=%d pending_at_end=%.0f\n",
		r.dropped, r.failedReq, r.retries, r.scrapeErrs, r.recv.Bad, r.pending)
	if a := r.ack; a != nil {
		fmt.Fprintf(w, "  samples/s acked        %10.0f   (ack delay %s; CPU per 1M acked %.0f ms)\n", float64(a.acked)/secs, o.ackDelay, perM(a.acked))
		fmt.Fprintf(w, "  requests outstanding   %10d max (posted, not yet acked); %d ack polls asking %.1f ids each\n",
			a.maxOutstanding, a.polls, float64(a.ids)/float64(max(a.polls, 1)))
	}
	if r.sink == "remote_write" {
		fmt.Fprintf(w, "  per-series check: duplicate timestamps=%d out-of-order=%d\n", r.dups, r.ooo)
	}
	if len(r.fwdStatus) > 0 {
		fmt.Fprintf(w, "  upstream answers: %v\n", r.fwdStatus)
	}
	for _, l := range r.upstream {
		fmt.Fprintf(w, "  upstream %s\n", l)
	}
	if r.lastErr != "" {
		fmt.Fprintf(w, "  last error: %s\n", r.lastErr)
	}
}

// ackResult is the receiver's view of indexer acknowledgement in the window.
type ackResult struct {
	acked, polls, ids int64
	maxOutstanding    int
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
