package kubetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// query is one list or watch request, parsed.
type query struct {
	res       *resource
	namespace string // "" for all namespaces
	labels    labels.Selector
	fields    fields.Selector
}

func (q *query) matches(st *stored) bool {
	return (q.namespace == "" || st.namespace == q.namespace) &&
		q.labels.Matches(labels.Set(st.labels)) && q.fields.Matches(st.fields)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	switch {
	case failing != 0:
		s.failed.Add(1)
		writeStatus(w, failing, "InternalError", "kubetest: failing on purpose")
		return
	case s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token:
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	case r.Method != http.MethodGet:
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "kubetest serves GET only")
		return
	}
	q, code, msg := parseQuery(r)
	if code != 0 {
		reason := "NotFound"
		if code == http.StatusBadRequest {
			reason = "BadRequest"
		}
		writeStatus(w, code, reason, msg)
		return
	}
	if v := r.URL.Query().Get("watch"); v == "true" || v == "1" {
		s.watch(w, r, q)
		return
	}
	s.list(w, r, q)
}

// parseQuery maps /api/v1/[namespaces/NS/]RES and
// /apis/GROUP/VERSION/[namespaces/NS/]RES to a query; a non-zero code is
// the HTTP status to answer with instead.
func parseQuery(r *http.Request) (*query, int, string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var group, version string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, version, parts = parts[1], parts[2], parts[3:]
	default:
		return nil, http.StatusNotFound, fmt.Sprintf("the server could not find the requested resource %s", r.URL.Path)
	}
	q := &query{}
	if len(parts) == 3 && parts[0] == "namespaces" {
		q.namespace, parts = parts[1], parts[2:]
	}
	if len(parts) != 1 {
		return nil, http.StatusNotFound, fmt.Sprintf("kubetest serves only lists and watches, not %s", r.URL.Path)
	}
	for i := range resources {
		if res := &resources[i]; res.group == group && res.version == version && res.plural == parts[0] {
			q.res = res
		}
	}
	if q.res == nil || (q.namespace != "" && !q.res.namespaced) {
		return nil, http.StatusNotFound, fmt.Sprintf("the server could not find the requested resource %s", r.URL.Path)
	}
	v := r.URL.Query()
	var err error
	if q.labels, err = labels.Parse(v.Get("labelSelector")); err != nil {
		return nil, http.StatusBadRequest, fmt.Sprintf("unable to parse requirement: %v", err)
	}
	if q.fields, err = fields.ParseSelector(v.Get("fieldSelector")); err != nil {
		return nil, http.StatusBadRequest, fmt.Sprintf("invalid field selector: %v", err)
	}
	known := q.res.fieldSet(q.res.zero)
	for _, req := range q.fields.Requirements() {
		if _, ok := known[req.Field]; !ok {
			return nil, http.StatusBadRequest, fmt.Sprintf("field label not supported: %s", req.Field)
		}
	}
	return q, 0, ""
}

// snapshotLocked returns the matching objects sorted by key, as the API
// server lists them.
func (s *Server) snapshotLocked(q *query) []*stored {
	var out []*stored
	for _, st := range s.objects[q.res] {
		if q.matches(st) {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b *stored) int {
		return strings.Compare(a.namespace+"/"+a.name, b.namespace+"/"+b.name)
	})
	return out
}

// list answers a list, a page of limit items when limit is set: the
// continue token carries the offset of the next page (a simplification:
// the pages are cut from the current objects, not from a snapshot).
func (s *Server) list(w http.ResponseWriter, r *http.Request, q *query) {
	s.lists.Add(1)
	s.mu.Lock()
	items := s.snapshotLocked(q)
	rv := s.rv
	s.mu.Unlock()
	v := r.URL.Query()
	offset, _ := strconv.Atoi(v.Get("continue"))
	items = items[min(max(offset, 0), len(items)):]
	cont := ""
	if limit, err := strconv.Atoi(v.Get("limit")); err == nil && limit > 0 && limit < len(items) {
		items, cont = items[:limit], strconv.Itoa(offset+limit)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"%d","continue":%q},"items":[`, q.res.kind+"List", q.res.apiVersion(), rv, cont)
	for i, st := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(st.json)
	}
	b.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// writeStatus answers with a metav1.Status, as the API server does.
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status(code, reason, msg))
}

func status(code int, reason, msg string) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   metav1.StatusReason(reason),
		Code:     int32(code),
	}
}

// watchTimeout bounds a watch without timeoutSeconds, as the API server's
// --min-request-timeout does.
const watchTimeout = 30 * time.Minute

func watchDeadline(v string) time.Duration {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return min(time.Duration(n)*time.Second, watchTimeout)
	}
	return watchTimeout
}
