package hectest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.AckPolls++ })
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, answer{Text: "Method not allowed"})
		return
	}
	if !s.authorize(w, r) {
		return
	}
	if !s.opts.UseACK {
		reject(w, CodeAckDisabled, "ACK is disabled")
		return
	}
	ch, ok := s.channelOf(w, r)
	if !ok {
		return
	}
	var q struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&q); err != nil || q.Acks == nil {
		reject(w, CodeInvalidDataFormat, "Invalid data format")
		return
	}
	s.mu.Lock()
	c := s.channels[ch]
	out := make(map[string]bool, len(q.Acks))
	for _, id := range q.Acks {
		ok := c != nil && c.pending[id] && !s.withhold
		if ok {
			delete(c.pending, id) // reported once, as Splunk does
			s.stats.Acked++
			s.notifyLocked()
		}
		out[strconv.FormatInt(id, 10)] = ok
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"acks": out})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		reply(w, http.StatusMethodNotAllowed, answer{Text: "Method not allowed"})
		return
	}
	s.mu.Lock()
	bad := s.unhealthy
	s.mu.Unlock()
	if bad {
		reject(w, CodeUnhealthyQueues, "HEC is unhealthy, queues are full")
		return
	}
	reply(w, http.StatusOK, answer{Text: "HEC is healthy", Code: intp(CodeHealthy)})
}
