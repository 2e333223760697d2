package scrape

// fitted returns s, or a copy of it without its spare capacity when that
// is more than a few elements: for arrays that a steady target then keeps
// from scrape to scrape (a line cache's keys, built with room to grow,
// would keep up to a sixteenth unused). The copy is one pass over 8 bytes
// per series on a scrape whose lines changed, against the hundreds of
// nanoseconds per series of parsing them.
func fitted[T any](s []T) []T {
	if cap(s)-len(s) <= fittedSlack {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

// fittedSlack is the spare capacity fitted leaves.
const fittedSlack = 16
