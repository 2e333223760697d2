package hec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/sinks"
)

func timeDuration(d model.Duration) time.Duration { return time.Duration(d) }

// acker tracks the ackIds of requests waiting for indexer acknowledgement
// and polls /services/collector/ack for all of them at once.
type acker struct {
	sink     *Sink
	url      string
	interval time.Duration

	mu      sync.Mutex
	pending map[int64]chan struct{} // closed when the ackId is confirmed
	posted  map[bodyKey]postedAck   // accepted, ack outstanding (ackstate.go)
	failing bool                    // the last poll failed (log once per streak)
}

// wait blocks until ackID is confirmed (true), timeout passes (false) or ctx
// ends (error).
func (a *acker) wait(ctx context.Context, ackID int64, clock clockwork.Clock, timeout time.Duration) (bool, error) {
	ch := make(chan struct{})
	a.mu.Lock()
	a.pending[ackID] = ch
	a.mu.Unlock()
	t := clock.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true, nil
	case <-t.Chan():
		a.forget(ackID, ch)
		return false, nil
	case <-ctx.Done():
		a.forget(ackID, ch)
		return false, ctx.Err()
	}
}

// forget drops a wait, unless the ackId was confirmed meanwhile.
func (a *acker) forget(ackID int64, ch chan struct{}) {
	a.mu.Lock()
	if a.pending[ackID] == ch {
		delete(a.pending, ackID)
	}
	a.mu.Unlock()
}

// run polls every interval until ctx ends.
func (a *acker) run(ctx context.Context) {
	t := a.sink.clock.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
			a.pollOnce(ctx)
		}
	}
}

// pollOnce asks HEC about every outstanding ackId and releases the confirmed ones.
func (a *acker) pollOnce(ctx context.Context) {
	a.mu.Lock()
	ids := make([]int64, 0, len(a.pending))
	for id := range a.pending {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	acked, err := a.query(ctx, ids)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if !a.failing && ctx.Err() == nil {
			a.sink.log.Warn("hec ack poll failed", zap.String("url", a.sink.ackBase), zap.Int("outstanding", len(ids)), zap.Error(err))
		}
		a.failing = true
		return
	}
	a.failing = false
	for id, ok := range acked {
		if ch, waiting := a.pending[id]; ok && waiting {
			close(ch)
			delete(a.pending, id)
		}
	}
}

// query posts {"acks":[ids]} and decodes {"acks":{"id":bool}}.
func (a *acker) query(ctx context.Context, ids []int64) (map[int64]bool, error) {
	body, err := json.Marshal(struct {
		Acks []int64 `json:"acks"`
	}{ids})
	if err != nil {
		return nil, fmt.Errorf("hec: ack poll: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("hec: ack poll: %w", err)
	}
	if err := a.sink.setHeaders(req, false); err != nil {
		return nil, err
	}
	resp, err := a.sink.client.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hec: ack poll: %w", sinks.RedactURLError(err))
	}
	defer sinks.DrainBody(resp.Body)
	if resp.StatusCode != http.StatusOK {
		ans := readAnswer(resp.Body)
		return nil, fmt.Errorf("hec: ack poll: status %d, code %d: %s", resp.StatusCode, ans.code(), a.sink.tokens.Redact(ans.Text))
	}
	var out struct {
		Acks map[string]bool `json:"acks"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("hec: ack poll: decode answer: %w", err)
	}
	acked := make(map[int64]bool, len(out.Acks))
	for k, v := range out.Acks {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("hec: ack poll: bad ackId %q in answer", k)
		}
		acked[id] = v
	}
	return acked, nil
}
