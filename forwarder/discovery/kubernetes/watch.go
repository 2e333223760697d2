package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// eventType is what happened to an object.
type eventType int

const (
	evAdd eventType = iota
	evUpdate
	evDelete
	evReplace // a (re)list: all objects of one watcher
)

// event is one change a watcher reports to its discovery's loop.
type event struct {
	kind kind
	typ  eventType
	obj  object            // evAdd, evUpdate, evDelete
	ns   string            // evReplace: the watcher's namespace ("" = all)
	all  map[string]object // evReplace: every listed object by key
}

// watcher keeps one resource of one namespace in sync: list, then watch
// from the list's resource version, re-watch when a watch ends, list again
// after 410 Gone or an error (with backoff), until ctx ends.
type watcher struct {
	c            *client
	kind         kind
	ns           string
	label, field string
	out          chan<- event
	log          *slog.Logger
	failures     prometheus.Counter
	backoff      backoff
	watchTimeout time.Duration
}

// errGone is a watch's 410: its resource version is compacted away.
var errGone = errors.New("resource version too old (410 Gone)")

func (w *watcher) run(ctx context.Context) {
	for {
		rv, err := w.list(ctx)
		for err == nil {
			rv, err = w.watch(ctx, rv)
		}
		if ctx.Err() != nil {
			return
		}
		var se *statusError
		if errors.Is(err, errGone) || (errors.As(err, &se) && se.code == http.StatusGone) {
			w.log.Debug("watch expired, listing again", "resource", w.kind.String(), "namespace", w.ns)
			continue
		}
		w.failures.Inc()
		w.log.Error("Kubernetes API request failed", "resource", w.kind.String(), "namespace", w.ns, "err", err)
		if !w.backoff.wait(ctx) {
			return
		}
	}
}

// path is the collection's URL path.
func (w *watcher) path() string {
	k := kinds[w.kind]
	if k.namespaced && w.ns != "" {
		return k.path + "/namespaces/" + url.PathEscape(w.ns) + "/" + k.plural
	}
	return k.path + "/" + k.plural
}

func (w *watcher) query() url.Values {
	q := url.Values{}
	if w.label != "" {
		q.Set("labelSelector", w.label)
	}
	if w.field != "" {
		q.Set("fieldSelector", w.field)
	}
	return q
}

// listPageSize bounds a list answer as client-go's reflector does: a big
// cluster's pods come in pages, not in one body held whole.
const listPageSize = 500

// list fetches every object, page by page, and hands them to the loop; it
// returns the list's resource version.
func (w *watcher) list(ctx context.Context) (string, error) {
	all := map[string]object{}
	var rv, cont string
	for {
		q := w.query()
		q.Set("limit", strconv.Itoa(listPageSize))
		if cont != "" {
			q.Set("continue", cont)
		}
		page, err := w.listPage(ctx, q, all)
		if err != nil {
			return "", err
		}
		rv, cont = page.ResourceVersion, page.Continue
		if cont == "" {
			break
		}
	}
	w.backoff.reset()
	return rv, w.send(ctx, event{kind: w.kind, typ: evReplace, ns: w.ns, all: all})
}

type listMeta struct {
	ResourceVersion string `json:"resourceVersion"`
	Continue        string `json:"continue"`
}

func (w *watcher) listPage(ctx context.Context, q url.Values, into map[string]object) (*listMeta, error) {
	resp, err := w.c.get(ctx, w.path(), q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l struct {
		Metadata listMeta          `json:"metadata"`
		Items    []json.RawMessage `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("list %s: decode: %w", w.kind, err)
	}
	for _, raw := range l.Items {
		o := kinds[w.kind].decode()
		if err := json.Unmarshal(raw, o); err != nil {
			return nil, fmt.Errorf("list %s: decode item: %w", w.kind, err)
		}
		into[key(o)] = o
	}
	return &l.Metadata, nil
}

// watch streams changes after rv until the server ends the stream; it
// returns the last resource version seen.
func (w *watcher) watch(ctx context.Context, rv string) (string, error) {
	q := w.query()
	q.Set("watch", "true")
	q.Set("resourceVersion", rv)
	q.Set("allowWatchBookmarks", "true")
	q.Set("timeoutSeconds", strconv.Itoa(int(w.watchTimeout/time.Second)))
	resp, err := w.c.get(ctx, w.path(), q)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusGone {
			return rv, errGone
		}
		return rv, err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return rv, nil // the server ended the watch: watch again
			}
			if ctx.Err() != nil {
				return rv, ctx.Err()
			}
			return rv, fmt.Errorf("watch %s: %w", w.kind, err)
		}
		typ := evAdd
		switch ev.Type {
		case "ADDED":
		case "MODIFIED":
			typ = evUpdate
		case "DELETED":
			typ = evDelete
		case "BOOKMARK":
			var b struct {
				Metadata objectMeta `json:"metadata"`
			}
			if err := json.Unmarshal(ev.Object, &b); err == nil && b.Metadata.ResourceVersion != "" {
				rv = b.Metadata.ResourceVersion
			}
			continue
		case "ERROR":
			st := decodeStatus(ev.Object)
			if st.code == http.StatusGone {
				return rv, errGone
			}
			return rv, fmt.Errorf("watch %s: %w", w.kind, st)
		default:
			return rv, fmt.Errorf("watch %s: unknown event type %q", w.kind, ev.Type)
		}
		o := kinds[w.kind].decode()
		if err := json.Unmarshal(ev.Object, o); err != nil {
			return rv, fmt.Errorf("watch %s: decode object: %w", w.kind, err)
		}
		rv = o.meta().ResourceVersion
		if err := w.send(ctx, event{kind: w.kind, typ: typ, obj: o}); err != nil {
			return rv, err
		}
		w.backoff.reset()
	}
}

func (w *watcher) send(ctx context.Context, e event) error {
	select {
	case w.out <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get sends a GET and returns a 200 answer; any other status is a
// *statusError with the API server's message.
func (c *client) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("kubernetes API request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	st := decodeStatus(body)
	st.code = resp.StatusCode
	return nil, fmt.Errorf("GET %s: %w", path, st)
}

// statusError is the API server's metav1.Status of a failed request.
type statusError struct {
	code    int
	reason  string
	message string
}

func (e *statusError) Error() string {
	msg := e.message
	if msg == "" {
		msg = e.reason
	}
	if msg == "" {
		msg = http.StatusText(e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, msg)
}

func decodeStatus(b []byte) *statusError {
	var s struct {
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(b, &s) // not a Status: the HTTP code says enough
	if len(s.Message) > 512 {
		s.Message = s.Message[:512]
	}
	return &statusError{code: s.Code, reason: s.Reason, message: s.Message}
}

// backoff is the wait between failed attempts: doubling from min to max,
// back to min after a success.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) wait(ctx context.Context) bool {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
