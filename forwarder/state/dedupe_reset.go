package state

// Reset forgets every value recorded as sent. The sink's runner calls it
// (sinks.RunnerConfig.OnDrop) when the destination rejects a whole
// request: Filter recorded those
// values as sent when the request was built, so without a reset an
// unchanged series would be skipped until resend_after although it never
// arrived. The next scrape then sends everything once.
func (d *Dedupe) Reset() {
	if !d.Enabled() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ents, d.dead, d.live, d.hint, d.starts = dedupeEntries{}, 0, 0, 0, nil
	d.dropIndex()
}
