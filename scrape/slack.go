package scrape

// fitted returns s, or a copy of it without its spare capacity when that
// is more than a sixteenth: for arrays that a steady target then keeps
// from scrape to scrape (a line cache's keys, built by appending, grow by
// a quarter at a time and would keep up to that much unused).
func fitted[T any](s []T) []T {
	if cap(s)-len(s) <= len(s)/16+16 {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}
