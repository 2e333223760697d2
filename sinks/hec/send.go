package hec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/zap"

	"github.com/promfwd/promfwd/sinks"
)

// errTooLarge is returned by post when HEC answered 413.
var errTooLarge = errors.New("hec: request entity too large")

// Send delivers one request. With indexer acknowledgement it returns nil only
// once the request's ackId is confirmed, and posts the same bytes again when
// the ack does not come within ack.timeout. A request HEC finds too large
// (413) is split at an event boundary and the halves are sent in turn.
func (s *Sink) Send(ctx context.Context, req sinks.Request) error {
	return s.deliver(sinks.WithSplitBudget(ctx, s.splitPause), req.Body)
}

func (s *Sink) deliver(ctx context.Context, body []byte) error {
	var key bodyKey
	if s.acks != nil {
		key = keyOf(body)
	}
	for {
		ackID, resumed := int64(-1), false
		if s.acks != nil {
			// Posted before (by an earlier Send of these bytes, or before a
			// restart): wait for that ack instead of posting a duplicate.
			ackID, resumed = s.acks.resumable(key)
		}
		if !resumed {
			var err error
			ackID, err = s.post(ctx, body)
			if errors.Is(err, errTooLarge) {
				return s.deliverSplit(ctx, body)
			}
			if err != nil {
				return err
			}
			if s.acks == nil {
				return nil
			}
			s.acks.remember(key, ackID, s.clock.Now())
		}
		s.startPoller(s.bg)
		acked, err := s.acks.wait(ctx, ackID, s.clock, timeDuration(s.cfg.Ack.Timeout))
		if err != nil {
			// Still outstanding: a later Send, or the next start, resumes it.
			return fmt.Errorf("hec: waiting for ack %d: %w", ackID, err)
		}
		s.acks.settle(key)
		if acked {
			return nil
		}
		s.log.Warn("hec ack not confirmed in time; posting the request again",
			zap.String("url", s.eventURL), zap.Int64("ack_id", ackID), zap.Bool("resumed", resumed),
			zap.Duration("timeout", timeDuration(s.cfg.Ack.Timeout)))
	}
}

// deliverSplit sends both halves of a body HEC refused as too large. A
// permanent rejection of one half does not stop the other; a retryable
// failure is returned so the whole request stays queued (the delivered half
// may then be sent twice: at-least-once).
func (s *Sink) deliverSplit(ctx context.Context, body []byte) error {
	a, b, err := splitBody(body)
	if err != nil {
		return &sinks.PermanentError{Status: http.StatusRequestEntityTooLarge, Reason: "request too large and cannot be split", Err: err}
	}
	s.log.Debug("hec request too large, split in two", zap.String("url", s.eventURL), zap.Int("bytes", len(body)))
	if err := sinks.SplitWait(ctx); err != nil {
		return err
	}
	errA := s.deliver(ctx, a)
	if errA != nil && !sinks.IsPermanent(errA) {
		return errA
	}
	if err := sinks.SplitWait(ctx); err != nil {
		return errors.Join(errA, err)
	}
	errB := s.deliver(ctx, b)
	if errB != nil && !sinks.IsPermanent(errB) {
		return errB
	}
	return errors.Join(errA, errB)
}

// post sends body once through the retry layer and classifies the final
// answer. It returns the ackId, or -1 when the answer carried none.
func (s *Sink) post(ctx context.Context, body []byte) (int64, error) {
	ctx, lastStatus := sinks.TrackStatus(ctx)
	req, release, err := sinks.NewBodyRequest(ctx, http.MethodPost, s.eventURL, body)
	if err != nil {
		return -1, fmt.Errorf("hec: build request: %w", err)
	}
	defer release() // runs after the answer is drained: no reader of body outlives Send
	if err := s.setHeaders(req.Request, isGzip(body)); err != nil {
		return -1, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if resp != nil {
			sinks.DrainBody(resp.Body)
		}
		err = sinks.RedactURLError(err)
		if st := lastStatus(); st == http.StatusUnauthorized || st == http.StatusForbidden {
			return -1, fmt.Errorf("hec: post to %s: status %d: %w: %w", s.eventURL, st, sinks.ErrUnauthorized, err)
		}
		return -1, fmt.Errorf("hec: post to %s: %w", s.eventURL, err)
	}
	defer sinks.DrainBody(resp.Body)
	a := readAnswer(resp.Body)
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return s.success(c, a)
	case c == http.StatusRequestEntityTooLarge:
		return -1, errTooLarge
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		// Final only once the token was refused for max_auth_hold.
		return -1, &sinks.PermanentError{Status: c,
			Reason: fmt.Sprintf("token refused for longer than max_auth_hold: hec code %d: %s", a.code(), s.tokens.Redact(a.Text)),
			Err:    fmt.Errorf("hec: post to %s: %w", s.eventURL, sinks.ErrUnauthorized)}
	case c >= 400 && c < 500, Classify(c) == sinks.Reject:
		reason := fmt.Sprintf("hec code %d: %s", a.code(), s.tokens.Redact(a.Text))
		if a.InvalidEventNumber != nil {
			reason += " (invalid-event-number " + strconv.Itoa(*a.InvalidEventNumber) + ")"
		}
		return -1, &sinks.PermanentError{Status: c, Reason: reason}
	default:
		return -1, fmt.Errorf("hec: post to %s: status %d, code %d: %s", s.eventURL, c, a.code(), s.tokens.Redact(a.Text))
	}
}

// success classifies a 2xx answer. Only code 0 is success (with indexer
// acknowledgement, code 0 with an ackId); any other code is classified by
// HEC's code table whatever the HTTP status, and an answer that is not HEC
// JSON, or lacks the ackId, leaves the request's fate unknown: it is
// retried (at-least-once).
func (s *Sink) success(status int, a answer) (int64, error) {
	code := a.code()
	switch {
	case code == codeSuccess && s.acks == nil:
		return -1, nil
	case code == codeSuccess && a.AckID != nil:
		return *a.AckID, nil
	case code == codeSuccess:
		return -1, fmt.Errorf("hec: post to %s: status %d, code 0 without an ackId although ack is enabled (is useACK set on the token?)", s.eventURL, status)
	case code < 0:
		return -1, fmt.Errorf("hec: post to %s: status %d with an answer that is not HEC's: %q", s.eventURL, status, s.tokens.Redact(a.Text))
	}
	reason := fmt.Sprintf("hec code %d: %s", code, s.tokens.Redact(a.Text))
	switch codeClass(code) {
	case classUnauthorized:
		return -1, fmt.Errorf("hec: post to %s: status %d, %s: %w", s.eventURL, status, reason, sinks.ErrUnauthorized)
	case classRetry:
		return -1, fmt.Errorf("hec: post to %s: status %d, %s", s.eventURL, status, reason)
	}
	if a.InvalidEventNumber != nil {
		reason += " (invalid-event-number " + strconv.Itoa(*a.InvalidEventNumber) + ")"
	}
	return -1, &sinks.PermanentError{Status: status, Reason: reason}
}

// HEC answer codes (SPECS.md).
const (
	codeSuccess = 0
)

type answerClass int

const (
	classPermanent answerClass = iota
	classRetry
	classUnauthorized
)

// codeClass sorts HEC's answer codes: 1-4 are credential problems (keep
// the data, mark the sink unhealthy), 8 (internal error), 9 (busy) and
// 18-20 (unhealthy) are worth retrying, and every other code (5-7, 10-16,
// unknown ones) is a rejection of the data.
func codeClass(code int) answerClass {
	switch {
	case code >= 1 && code <= 4:
		return classUnauthorized
	case code == 8 || code == 9 || (code >= 18 && code <= 20):
		return classRetry
	}
	return classPermanent
}

// setHeaders sets every header HEC needs, with the current token.
func (s *Sink) setHeaders(r *http.Request, gz bool) error {
	tok, err := s.tokens.Get()
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Splunk "+tok)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", s.userAgent)
	r.Header.Set("X-Splunk-Request-Channel", s.channel)
	if gz {
		r.Header.Set("Content-Encoding", "gzip")
	}
	return nil
}

// prepareRetry refreshes the token before each retry, so a rotated
// token_file ends a 401/403 streak without losing the request.
func (s *Sink) prepareRetry(r *http.Request) error {
	tok, err := s.tokens.Get()
	if err != nil {
		return err
	}
	r.Header = r.Header.Clone()
	r.Header.Set("Authorization", "Splunk "+tok)
	return nil
}

// checkRetry is the retry decision of Classify (s.check), dropping the
// cached token on 401/403 so a rotated token_file ends the streak.
func (s *Sink) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() == nil && err == nil &&
		(resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		s.tokens.Invalidate()
	}
	return s.check(ctx, resp, err)
}

// Classify is HEC's classification (the README's retry table):
// sinks.HTTPTable. Network errors, 408, 429 and 5xx but 501 are retried;
// 401/403 held for max_auth_hold; 413 split; 501 and other 4xx rejected.
func Classify(status int) sinks.Action { return sinks.HTTPTable(status) }

// isGzip reports whether body starts with the gzip magic (JSON never does).
func isGzip(body []byte) bool { return len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b }

// splitBody cuts a body at the event boundary (newline) nearest its middle,
// decompressing and recompressing gzip bodies.
func splitBody(body []byte) ([]byte, []byte, error) {
	gz := isGzip(body)
	plain := body
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, nil, fmt.Errorf("hec: split: %w", err)
		}
		plain, err = io.ReadAll(zr)
		if err != nil {
			return nil, nil, fmt.Errorf("hec: split: %w", err)
		}
	}
	trimmed := bytes.TrimRight(plain, "\n")
	mid := len(trimmed) / 2
	cut := -1
	if i := bytes.IndexByte(trimmed[mid:], '\n'); i >= 0 {
		cut = mid + i
	}
	if j := bytes.LastIndexByte(trimmed[:mid], '\n'); j >= 0 && (cut < 0 || mid-j < cut-mid) {
		cut = j
	}
	if cut < 0 {
		return nil, nil, errors.New("hec: split: the request holds a single event")
	}
	a, b := plain[:cut+1], plain[cut+1:]
	if !gz {
		return a, b, nil
	}
	return gzipBytes(a), gzipBytes(b), nil
}

func gzipBytes(p []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzipLevel) // level is valid
	_, _ = zw.Write(p)                            // bytes.Buffer cannot fail
	_ = zw.Close()
	return buf.Bytes()
}
