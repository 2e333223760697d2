package hec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
	"go.uber.org/zap"
)

// Indexer acknowledgement across restarts. A request HEC accepted but has
// not acknowledged yet stays in the sink's queue (it is not delivered until
// acked). To avoid posting it again after a restart, the sink remembers,
// per request body, the ackId HEC gave it; that memory and the channel GUID
// are saved with the sink's state (SnapshotDelivery) and restored before the
// sink starts (RestoreDelivery). When the queue hands the same bytes to Send
// again, Send resumes polling that ackId on the same channel instead of
// posting: acked means delivered; no ack within ack.timeout (HEC expired or
// never knew the id) means the request is posted again, as it would be
// without a restart.

// bodyKey identifies a request body. Bodies are encoded once and retried
// byte for byte, from memory or from the disk queue.
type bodyKey struct {
	Hash uint64 `json:"h"`
	Len  int    `json:"n"`
}

func keyOf(body []byte) bodyKey { return bodyKey{Hash: xxhash.Sum64(body), Len: len(body)} }

// postedAck is a request HEC accepted whose ack is outstanding.
type postedAck struct {
	Key    bodyKey `json:"k"`
	AckID  int64   `json:"id"`
	Posted int64   `json:"at"` // Unix ms
}

// deliveryState is what SnapshotDelivery saves.
type deliveryState struct {
	Version int         `json:"v"`
	URL     string      `json:"url"` // the event endpoint: ackIds mean nothing elsewhere
	Channel string      `json:"channel"`
	Acks    []postedAck `json:"acks,omitempty"`
}

const deliveryStateVersion = 1

// ackKeepFactor bounds how long an outstanding ack is remembered, in
// ack.timeouts: an entry whose request never comes back (it was acked and
// removed just before a crash, or dropped from a full queue) is forgotten.
const ackKeepFactor = 10

// remember records that body was accepted with ackID.
func (a *acker) remember(k bodyKey, ackID int64, now time.Time) {
	a.mu.Lock()
	a.posted[k] = postedAck{Key: k, AckID: ackID, Posted: now.UnixMilli()}
	a.mu.Unlock()
}

// resumable returns the outstanding ackId of body, if it was posted before.
func (a *acker) resumable(k bodyKey) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.posted[k]
	return p.AckID, ok
}

// settle forgets body's ackId: it was confirmed, or it will be posted again.
func (a *acker) settle(k bodyKey) {
	a.mu.Lock()
	delete(a.posted, k)
	a.mu.Unlock()
}

// SnapshotDelivery returns the channel GUID and the outstanding ackIds. It
// is safe to call while requests are being sent.
func (s *Sink) SnapshotDelivery() ([]byte, error) {
	st := deliveryState{Version: deliveryStateVersion, URL: s.eventURL, Channel: s.channel}
	if a := s.acks; a != nil {
		oldest := s.clock.Now().Add(-ackKeepFactor * timeDuration(s.cfg.Ack.Timeout)).UnixMilli()
		a.mu.Lock()
		for k, p := range a.posted {
			if p.Posted < oldest {
				delete(a.posted, k)
				continue
			}
			st.Acks = append(st.Acks, p)
		}
		a.mu.Unlock()
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("hec: snapshot delivery state: %w", err)
	}
	return b, nil
}

// RestoreDelivery takes over the channel and outstanding ackIds saved by
// SnapshotDelivery. Call it before Start and before any Send. State saved
// for another endpoint, or without indexer acknowledgement now, is ignored.
func (s *Sink) RestoreDelivery(b []byte) error {
	var st deliveryState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("hec: restore delivery state: %w", err)
	}
	if st.Version != deliveryStateVersion {
		return fmt.Errorf("hec: restore delivery state: unsupported version %d", st.Version)
	}
	if s.acks == nil || st.URL != s.eventURL || st.Channel == "" {
		return nil // acks off, or another endpoint: a fresh channel is right
	}
	s.channel = st.Channel
	s.acks.url = ackURL(s.ackBase, st.Channel)
	s.acks.mu.Lock()
	for _, p := range st.Acks {
		s.acks.posted[p.Key] = p
	}
	s.acks.mu.Unlock()
	if len(st.Acks) > 0 {
		s.log.Info("hec: resuming indexer acknowledgement of requests posted before the restart",
			zap.String("url", s.eventURL), zap.Int("outstanding", len(st.Acks)))
	}
	return nil
}
