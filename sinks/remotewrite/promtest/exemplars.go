package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ExemplarFlag is the flag Prometheus 2.x needs to store exemplars (and so
// to accept them over remote-write): pass it to Start.
const ExemplarFlag = "--enable-feature=exemplar-storage"

// Exemplar is one exemplar as /api/v1/query_exemplars returns it.
type Exemplar struct {
	Series map[string]string // the series' labels, __name__ included
	Labels map[string]string // the exemplar's own labels
	Value  float64
	Time   time.Time
}

// QueryExemplars returns the exemplars stored for the series selected by
// expr between start and end.
func (s *Server) QueryExemplars(ctx context.Context, expr string, start, end time.Time) ([]Exemplar, error) {
	q := url.Values{}
	q.Set("query", expr)
	q.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
	q.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query_exemplars?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("promtest: query exemplars %q: %w", expr, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("promtest: query exemplars %q: %w", expr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels    map[string]string `json:"labels"`
				Value     string            `json:"value"`
				Timestamp float64           `json:"timestamp"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("promtest: query exemplars %q: status %d: decode: %w", expr, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("promtest: query exemplars %q: %s", expr, body.Error)
	}
	var out []Exemplar
	for _, d := range body.Data {
		for _, e := range d.Exemplars {
			v, err := strconv.ParseFloat(e.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("promtest: query exemplars %q: value %q: %w", expr, e.Value, err)
			}
			out = append(out, Exemplar{Series: d.SeriesLabels, Labels: e.Labels, Value: v,
				Time: time.UnixMilli(int64(e.Timestamp*1000 + 0.5))})
		}
	}
	return out, nil
}
