package kubetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// watch streams events as the API server does: one JSON object per line,
// flushed as it happens, on a chunked 200 answer.
//
//   - sendInitialEvents=true (watch-list): ADDED for every matching object,
//     then a BOOKMARK annotated k8s.io/initial-events-end, then changes.
//   - resourceVersion "" or "0": ADDED for every matching object, then
//     changes.
//   - resourceVersion N: every change after N, or an ERROR event with 410
//     Expired when N is older than the kept history.
//
// An update that moves an object into or out of the selectors is sent as
// ADDED or DELETED. The stream ends after timeoutSeconds.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, q *query) {
	v := r.URL.Query()
	sendInitial := v.Get("sendInitialEvents") == "true"
	if sendInitial && (s.opts.NoWatchList || v.Get("resourceVersionMatch") != "NotOlderThan") {
		writeStatus(w, http.StatusUnprocessableEntity, "Invalid",
			"ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled")
		return
	}
	s.watches.Add(1)
	s.openWatches.Add(1)
	defer s.openWatches.Add(-1)

	rvParam := v.Get("resourceVersion")
	var from int64
	var initial []*stored
	s.mu.Lock()
	if sendInitial || rvParam == "" || rvParam == "0" {
		initial, from = s.snapshotLocked(q), s.rv
	} else {
		n, err := strconv.ParseInt(rvParam, 10, 64)
		if err != nil || n < 0 {
			s.mu.Unlock()
			writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("invalid resource version %q", rvParam))
			return
		}
		from = n
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	bw := bufio.NewWriterSize(w, 32<<10)
	flush := func() bool {
		if bw.Flush() != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	for _, st := range initial {
		writeEvent(bw, "ADDED", st.json)
	}
	if sendInitial {
		bookmark := fmt.Sprintf(`{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"%d","annotations":{"k8s.io/initial-events-end":"true"}}}`,
			q.res.kind, q.res.apiVersion(), from)
		writeEvent(bw, "BOOKMARK", []byte(bookmark))
	}
	if !flush() {
		return
	}

	timeout := time.NewTimer(watchDeadline(v.Get("timeoutSeconds")))
	defer timeout.Stop()
	for {
		s.mu.Lock()
		evs, ok := s.eventsAfterLocked(from)
		oldest := s.rv - int64(len(s.history))
		changed, failing := s.changed, s.failing
		s.mu.Unlock()
		if failing != 0 {
			return
		}
		if !ok {
			gone, _ := json.Marshal(status(http.StatusGone, "Expired",
				fmt.Sprintf("too old resource version: %d (%d)", from, oldest)))
			writeEvent(bw, "ERROR", gone)
			flush()
			return
		}
		for _, e := range evs {
			from = e.rv
			if e.res != q.res {
				continue
			}
			if typ := translate(q, e); typ != "" {
				writeEvent(bw, typ, e.obj.json)
			}
		}
		if len(evs) > 0 && !flush() {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// eventsAfterLocked returns a copy of the events after version from; false
// when some of them are no longer kept. Versions are consecutive: every
// event takes the next one.
func (s *Server) eventsAfterLocked(from int64) ([]event, bool) {
	if from >= s.rv {
		return nil, true
	}
	first := s.rv - int64(len(s.history)) + 1 // version of history[0]
	if from+1 < first {
		return nil, false
	}
	return append([]event(nil), s.history[from+1-first:]...), true
}

// translate is the event type a watcher with q's selectors sees, or "" when
// the change is outside them.
func translate(q *query, e event) string {
	now := q.matches(e.obj)
	before := e.old != nil && q.matches(e.old)
	switch {
	case e.typ == "DELETED":
		if before {
			return "DELETED"
		}
	case before && now:
		return "MODIFIED"
	case now:
		return "ADDED"
	case before:
		return "DELETED"
	}
	return ""
}

func writeEvent(w *bufio.Writer, typ string, obj []byte) {
	_, _ = w.WriteString(`{"type":"`)
	_, _ = w.WriteString(typ)
	_, _ = w.WriteString(`","object":`)
	_, _ = w.Write(obj)
	_, _ = w.WriteString("}\n")
}
