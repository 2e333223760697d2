package aggregate

// restoreWindows reads the windows (both versions' frame): per window its
// start, then per accumulator its group (readGroup), which must be a live
// group not yet in the window, and its fields (acc, given the group's
// column base in w).
func (r *ruleState) restoreWindows(d *reader, readGroup func() int32, acc func(w *window, gi int32, base int)) {
	nw := d.count()
	for i := 0; i < nw && !d.err; i++ {
		w := r.newWindow(d.v())
		na := d.count()
		for j := 0; j < na && !d.err; j++ {
			gi := readGroup()
			if gi < 0 || int(gi) >= len(r.groups) || !r.live(gi) || (int(gi) < len(w.flags) && w.flags[gi] != 0) {
				d.fail()
				break
			}
			acc(w, gi, w.get(&r.lay, gi))
		}
		if _, dup := r.windows[w.start]; dup {
			d.fail()
		}
		r.windows[w.start] = w
	}
}
