package status

import (
	"sync"
	"time"
)

// Point is one sample of a sink's history.
type Point struct {
	Time          time.Time `json:"time"`
	SentPerSecond float64   `json:"sent_per_second"`
	QueueBytes    int64     `json:"queue_bytes"`
	// Dropped is the samples dropped (any reason) since the previous point.
	Dropped float64 `json:"dropped"`
}

// Totals is what the sampler reads from a sink at each tick.
type Totals struct {
	Sent       float64 // samples sent, ever (a counter)
	Dropped    float64 // samples dropped, ever, all reasons
	QueueBytes int64
}

// History keeps the last Window of per-sink points in memory: a bounded
// ring per sink, so an hour at a 10 s step is 360 points per sink.
type History struct {
	mu     sync.Mutex
	window time.Duration
	sinks  map[string]*ring
}

type ring struct {
	pts  []Point
	last Totals
	at   time.Time
	seen bool
}

// DefaultWindow is how far back the charts reach.
const DefaultWindow = time.Hour

// NewHistory keeps window of history (DefaultWindow if not positive).
func NewHistory(window time.Duration) *History {
	if window <= 0 {
		window = DefaultWindow
	}
	return &History{window: window, sinks: map[string]*ring{}}
}

// Record adds one point per sink in totals, taken at now. Sinks missing
// from totals (removed by a reload) lose their history.
func (h *History) Record(now time.Time, totals map[string]Totals) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range h.sinks {
		if _, ok := totals[name]; !ok {
			delete(h.sinks, name)
		}
	}
	for name, t := range totals {
		r := h.sinks[name]
		if r == nil {
			r = &ring{}
			h.sinks[name] = r
		}
		p := Point{Time: now, QueueBytes: t.QueueBytes}
		if r.seen {
			if dt := now.Sub(r.at).Seconds(); dt > 0 && t.Sent >= r.last.Sent {
				p.SentPerSecond = (t.Sent - r.last.Sent) / dt
			}
			if t.Dropped >= r.last.Dropped {
				p.Dropped = t.Dropped - r.last.Dropped
			}
		}
		r.last, r.at, r.seen = t, now, true
		cut := 0
		for cut < len(r.pts) && now.Sub(r.pts[cut].Time) > h.window {
			cut++
		}
		r.pts = append(r.pts[cut:], p)
	}
}

// Points returns a copy of a sink's points, oldest first.
func (h *History) Points(name string) []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.sinks[name]
	if r == nil {
		return []Point{}
	}
	out := make([]Point, len(r.pts))
	copy(out, r.pts)
	return out
}
