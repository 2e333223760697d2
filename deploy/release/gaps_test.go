package main

import (
	"testing"
	"time"
)

// TestGaps: the loss check of the plugin test flags a missing scrape before
// the disable and in the middle, and exempts only the disabled window.
func TestGaps(t *testing.T) {
	base := time.Unix(1000, 0)
	ms := func(s float64) int64 { return base.Add(time.Duration(s * float64(time.Second))).UnixMilli() }
	off, on := base.Add(5500*time.Millisecond), base.Add(9*time.Second)
	ok := []int64{ms(1), ms(2), ms(3), ms(4), ms(5), ms(9.5), ms(10.5)}
	if g := gaps(ok, 1500*time.Millisecond, off, on); len(g) != 0 {
		t.Errorf("ok: %v", g)
	}
	lostBefore := []int64{ms(1), ms(2), ms(9.5), ms(10.5)}
	if g := gaps(lostBefore, 1500*time.Millisecond, off, on); len(g) != 1 {
		t.Errorf("lost before disable: %v", g)
	}
	lostMid := []int64{ms(1), ms(3), ms(4), ms(5), ms(9.5)}
	if g := gaps(lostMid, 1500*time.Millisecond, off, on); len(g) != 1 {
		t.Errorf("lost mid: %v", g)
	}
}
