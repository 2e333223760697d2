package forwarder

// handOverLocked retires old, a discovered target whose config changed
// under the same name (new labels from a changed pod label, another path
// from a changed annotation), in favour of succ: as a reload does
// (reload_source.go), succ takes over old's staleness state after old's
// last run, so the series that vanish with the change get stale markers
// at succ's first scrape (or at its goodbye, if it vanishes before one),
// and the series that go on get none. The caller puts succ's job under
// name in f.sources.
func (f *Forwarder) handOverLocked(name string, old *sourceJob, succ *source) {
	f.unscheduleLocked(name, old)
	delete(f.sources, name)
	succ.handoff = takeOver(old)
	f.closeAfterRun(old)
}
