package scrape

import "time"

// Result is what one scrape of one source yields.
type Result struct {
	Source   string        // source name from the config
	URL      string        // target URL without credentials
	Start    time.Time     // when the request was sent
	Duration time.Duration // fetch + parse
	Bytes    int64         // body bytes read (after decompression)
	// Unchanged is true when the target answered 304 Not Modified or the
	// body was byte-identical to the previous one: nothing was parsed and
	// Samples holds the previous scrape's samples, re-stamped with this
	// scrape's time where the exposition gave no timestamp, so dedupe can
	// skip them and still send its resend_after heartbeat.
	Unchanged bool
	// MaxAge is how long the target says its answer stays fresh
	// (Cache-Control max-age, less the Age header); 0 when it gave none or
	// forbade caching. The scheduler may stretch the next scrape up to it.
	MaxAge  time.Duration
	Samples []Sample
	// Series is the identity of Samples, in order (Parser.Series): what
	// the next scrape needs of this one, 12 bytes per series against a
	// Sample's 80. Holding it instead of Samples frees the batch once the
	// sinks have encoded it. Nil when Samples were not scraped by a
	// Target (or for an error).
	Series *SeriesSet
	// Dropped counts the samples the exposition had but Samples leaves
	// out (duplicates and the like), as Prometheus' scrape drops them. An
	// unchanged scrape repeats the count of the parse it reuses.
	Dropped Dropped
	// Rewritten says Samples went through TargetConfig.Rewriter (text and
	// OpenMetrics answers; protobuf ones never do), and Rewrite what it
	// removed. An unchanged scrape repeats both of the parse it reuses.
	Rewritten bool
	Rewrite   RewriteStats
	Err       error // nil on success; on error Samples is nil
	// Batch is the caller's reference to the pooled array behind Samples
	// (TargetConfig.BatchPool; nil when not pooled): release it once
	// nothing derived from Samples is read any more, after taking a
	// reference (Batch.Ref) for every holder that reads them later. Never
	// releasing it is harmless: the array is then not reused.
	Batch *BatchRef
}

// Scraped is the number of samples the scrape yielded before any
// rewriting: Prometheus' scrape_samples_scraped.
func (r *Result) Scraped() int {
	if r.Rewritten {
		return r.Rewrite.In
	}
	return len(r.Samples)
}
