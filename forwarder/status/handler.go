package status

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

//go:embed templates/*.html
var templateFS embed.FS

// Handler serves the pages and the JSON API.
type Handler struct {
	src   Source
	hist  *History
	now   func() time.Time
	log   *zap.Logger
	pages map[string]*template.Template
}

// NewHandler serves src's snapshots, with hist behind the sink charts. now
// may be nil (time.Now); log may be nil.
func NewHandler(src Source, hist *History, now func() time.Time, log *zap.Logger) (*Handler, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	if hist == nil {
		hist = NewHistory(0)
	}
	h := &Handler{src: src, hist: hist, now: now, log: log, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"ago": h.ago, "until": h.until, "bytes": bytesHuman, "seconds": seconds, "charts": sinkCharts, "ratio": ratio, "drops": drops}
	for _, p := range []string{"overview", "targets", "sinks", "config"} {
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("status: template %s: %w", p, err)
		}
		h.pages[p] = t
	}
	return h, nil
}

// Register adds the pages and the API to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.overviewPage)
	mux.HandleFunc("GET /targets", h.targetsPage)
	mux.HandleFunc("GET /sinks", h.sinksPage)
	mux.HandleFunc("GET /config", h.configPage)
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, _ *http.Request) { h.json(w, h.src.Overview()) })
	mux.HandleFunc("GET /api/v1/targets", func(w http.ResponseWriter, r *http.Request) {
		h.json(w, FilterTargets(h.src.Targets(), r.URL.Query().Get("state"), r.URL.Query().Get("name")))
	})
	mux.HandleFunc("GET /api/v1/sinks", func(w http.ResponseWriter, _ *http.Request) { h.json(w, h.sinks()) })
	mux.HandleFunc("GET /api/v1/config", func(w http.ResponseWriter, _ *http.Request) {
		cfg, err := h.src.Config()
		if err != nil {
			h.fail(w, err)
			return
		}
		h.json(w, map[string]string{"yaml": cfg})
	})
}

func (h *Handler) sinks() []Sink {
	out := h.src.Sinks()
	for i := range out {
		out[i].History = h.hist.Points(out[i].Name)
	}
	return out
}

// FilterTargets keeps the targets in state (any if "") whose name, source
// or URL contains name (case-insensitive; any if ""), sorted by name. It
// filters and sorts ts in place (a snapshot the caller owns).
func FilterTargets(ts []Target, state, name string) []Target {
	name = strings.ToLower(name)
	out := ts[:0]
	for _, t := range ts {
		if state != "" && t.State != state {
			continue
		}
		if name != "" && !strings.Contains(strings.ToLower(t.Name), name) &&
			!strings.Contains(strings.ToLower(t.Source), name) && !strings.Contains(strings.ToLower(t.URL), name) {
			continue
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
	return out
}

type targetsView struct {
	Targets     []Target
	Total       int
	State, Name string
	Counts      map[string]int
}

// RenderTargets writes the /targets page for ts filtered by state and name.
func (h *Handler) RenderTargets(buf *bytes.Buffer, ts []Target, state, name string) error {
	counts := map[string]int{}
	for _, t := range ts {
		counts[t.State]++
	}
	v := targetsView{Targets: FilterTargets(ts, state, name), Total: len(ts), State: state, Name: name, Counts: counts}
	p := page{Title: "Targets", Nav: "targets", Data: v}
	// The rows go straight into buf between the page's two halves: through
	// the template they would be copied twice more (see targetRows).
	if err := h.pages["targets"].ExecuteTemplate(buf, "page", p); err != nil {
		return err
	}
	h.targetRows(buf, v.Targets)
	return h.pages["targets"].ExecuteTemplate(buf, "tail", p)
}

type page struct {
	Title, Nav string
	Data       any
}

func (h *Handler) overviewPage(w http.ResponseWriter, _ *http.Request) {
	h.render(w, "overview", page{Title: "Overview", Nav: "overview", Data: h.src.Overview()})
}

func (h *Handler) targetsPage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	ts := h.src.Targets()
	buf.Grow(8<<10 + len(ts)*rowBytes) // one allocation for the page, not a doubling series
	if err := h.RenderTargets(&buf, ts, r.URL.Query().Get("state"), r.URL.Query().Get("name")); err != nil {
		h.fail(w, err)
		return
	}
	writeHTML(w, buf.Bytes())
}

func (h *Handler) sinksPage(w http.ResponseWriter, _ *http.Request) {
	h.render(w, "sinks", page{Title: "Sinks", Nav: "sinks", Data: h.sinks()})
}

func (h *Handler) configPage(w http.ResponseWriter, _ *http.Request) {
	cfg, err := h.src.Config()
	if err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, "config", page{Title: "Config", Nav: "config", Data: cfg})
}

func (h *Handler) render(w http.ResponseWriter, name string, p page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "page", p); err != nil {
		h.fail(w, err)
		return
	}
	writeHTML(w, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (h *Handler) json(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	h.log.Error("status page failed", zap.Error(err))
	http.Error(w, "internal error (see log)", http.StatusInternalServerError)
}

// ago renders how long before now t was ("never" for the zero time).
func (h *Handler) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return roundDur(h.now().Sub(t)) + " ago"
}

// until renders how long after now t is.
func (h *Handler) until(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(h.now())
	if d < 0 {
		return "due"
	}
	return "in " + roundDur(d)
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func seconds(s float64) string {
	return roundDur(time.Duration(s * float64(time.Second)))
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *p*100)
}

type drop struct {
	Reason  string
	Samples float64
}

// drops lists the reasons with dropped samples, by reason name.
func drops(m map[string]float64) []drop {
	var out []drop
	for r, n := range m {
		if n > 0 {
			out = append(out, drop{r, n})
		}
	}
	slices.SortFunc(out, func(a, b drop) int { return strings.Compare(a.Reason, b.Reason) })
	return out
}
