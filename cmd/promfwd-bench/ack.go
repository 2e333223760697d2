package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ackState is the receiver's HEC indexer acknowledgement (-hec-ack): each
// accepted request gets an ackId, reported true by the ack endpoint once
// -ack-delay has passed (Splunk acks when the events are indexed), and
// only then are its samples counted as acked.
type ackState struct {
	delay time.Duration

	mu         sync.Mutex
	next       map[string]int64 // per channel
	pending    map[ackKey]ackEntry
	maxPending int
	acked      atomic.Int64 // samples
	polls      atomic.Int64
	idsPerPoll atomic.Int64 // ids asked about, summed over polls
}

type ackKey struct {
	channel string
	id      int64
}

type ackEntry struct {
	at      time.Time
	samples int64
}

func newAckState(delay time.Duration) *ackState {
	return &ackState{delay: delay, next: map[string]int64{}, pending: map[ackKey]ackEntry{}}
}

// accept registers an accepted request and returns its ackId.
func (a *ackState) accept(channel string, samples int64) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.next[channel]
	a.next[channel] = id + 1
	a.pending[ackKey{channel, id}] = ackEntry{at: time.Now(), samples: samples}
	a.maxPending = max(a.maxPending, len(a.pending))
	return id
}

// serveAck answers POST /services/collector/ack?channel=<guid>.
func (a *ackState) serveAck(w http.ResponseWriter, req *http.Request) {
	a.polls.Add(1)
	var q struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&q); err != nil {
		http.Error(w, `{"text":"Invalid data format","code":6}`, http.StatusBadRequest)
		return
	}
	a.idsPerPoll.Add(int64(len(q.Acks)))
	ch := req.URL.Query().Get("channel")
	now := time.Now()
	out := make(map[string]bool, len(q.Acks))
	a.mu.Lock()
	for _, id := range q.Acks {
		k := ackKey{ch, id}
		e, ok := a.pending[k]
		done := ok && now.Sub(e.at) >= a.delay
		if done {
			delete(a.pending, k)
			a.acked.Add(e.samples)
		}
		out[strconv.FormatInt(id, 10)] = done
	}
	a.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"acks": out})
}

// reset forgets the high-water mark (at the start of the window).
func (a *ackState) reset() {
	a.mu.Lock()
	a.maxPending = len(a.pending)
	a.mu.Unlock()
}

func (a *ackState) max() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maxPending
}
