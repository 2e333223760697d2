package state

import "github.com/promfwd/promfwd/scrape"

// Runs of at least partRunMin samples on average are handed out as views
// of the batch; shorter ones are copied into one slice, since every part
// costs its receiver a submission.
const (
	partRunMin   = 256
	partsNoCopy  = 4 // this many runs are views whatever their length
	runsKeepSlop = 64
)

// FilterParts is Filter for a caller that takes the samples to send in
// parts, in order (a sink's runner accepts each as one submission): runs of
// in are returned as views of it, capacity capped so that an append cannot
// write into the shared batch, instead of being copied together. A batch
// whose runs are many and short comes back as one exact copy.
//
// A scrape's own report samples (up, scrape_samples_scraped, ...) mostly
// stay unchanged, so Filter copies a whole batch for them whenever the
// scraped series changed; FilterParts hands out the batch in two views.
func (d *Dedupe) FilterParts(in []scrape.Sample) (parts [][]scrape.Sample, skipped int) {
	if len(in) == 0 {
		return nil, 0
	}
	if !d.Enabled() {
		return [][]scrape.Sample{in}, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	skipped = d.filterLocked(in)
	nruns := len(d.runs) / 2
	switch {
	case skipped == 0:
		return [][]scrape.Sample{in}, 0
	case nruns == 0:
		return nil, skipped
	case nruns > partsNoCopy && (len(in)-skipped)/nruns < partRunMin:
		return [][]scrape.Sample{d.joinRuns(in, skipped)}, skipped
	}
	parts = make([][]scrape.Sample, 0, nruns)
	for k := 0; k < len(d.runs); k += 2 {
		a, b := d.runs[k], d.runs[k+1]
		parts = append(parts, in[a:b:b])
	}
	return parts, skipped
}

// joinRuns copies the runs of in listed in d.runs into one new slice of
// exactly the len(in)-skipped samples they hold.
func (d *Dedupe) joinRuns(in []scrape.Sample, skipped int) []scrape.Sample {
	out := make([]scrape.Sample, 0, len(in)-skipped)
	for k := 0; k < len(d.runs); k += 2 {
		out = append(out, in[d.runs[k]:d.runs[k+1]]...)
	}
	if cap(d.runs) > 2*len(d.runs)+runsKeepSlop {
		d.runs = nil // one fragmented batch must not pin its scratch
	}
	return out
}
