package main

import "time"

// allocRate follows the process's allocation rate from the cumulative
// allocation count read after each collection. Cycles come when the
// headroom has been allocated, so they are close together under load and
// far apart when idle; each interval's rate is weighted by its length, with
// rateWindow as the time constant, so that one burst (a first scrape, a
// reload) moves the estimate only by its share of the window.
type allocRate struct {
	at     time.Time // when allocs was read
	allocs uint64
	rate   float64 // bytes per second
	known  bool    // rate holds at least one interval
}

const rateWindow = 10 * time.Second

// observe adds a reading and returns the estimate.
func (a *allocRate) observe(now time.Time, allocs uint64) float64 {
	if a.at.IsZero() || allocs < a.allocs || !now.After(a.at) {
		a.at, a.allocs = now, allocs
		return a.rate
	}
	dt := now.Sub(a.at)
	r := float64(allocs-a.allocs) / dt.Seconds()
	a.at, a.allocs = now, allocs
	if !a.known {
		a.rate, a.known = r, true
		return r
	}
	w := min(dt.Seconds()/rateWindow.Seconds(), 1)
	a.rate += w * (r - a.rate)
	return a.rate
}
