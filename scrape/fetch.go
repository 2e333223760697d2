package scrape

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// ErrBodyTooLarge is wrapped by a scrape error when the answer (after
// decompression) exceeds TargetConfig.MaxBodyBytes.
var ErrBodyTooLarge = errors.New("body exceeds the size limit")

// ErrCredentialsRefused is wrapped by a scrape error when the target answers
// 401 or 403.
var ErrCredentialsRefused = errors.New("target refused the credentials")

// StatusError is a non-2xx, non-304 answer.
type StatusError struct {
	Status int
	// Snippet is the start of a 4xx answer's body (at most 256 bytes),
	// with control characters removed and our credentials redacted.
	Snippet string
}

// Error names the status and, for 4xx, quotes the sanitised snippet.
func (e *StatusError) Error() string {
	msg := "target answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		msg += " (" + ErrCredentialsRefused.Error() + ")"
	}
	if e.Snippet != "" {
		msg += ": " + strconv.Quote(e.Snippet)
	}
	return msg
}

// Unwrap lets errors.Is(err, ErrCredentialsRefused) match 401 and 403.
func (e *StatusError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return ErrCredentialsRefused
	}
	return nil
}

const (
	snippetMax     = 256
	snippetReadMax = 4096 // read more than we show so a secret cut at 256 is still redacted
	minBodyBuffer  = 64 << 10
)

// response is one answer, reduced to what Scrape needs.
type response struct {
	notModified  bool
	body         []byte // from t.bodies (bodybuf.go); the caller hands it back with t.bodies.put
	format       Format
	foreignType  string // the Content-Type, when it names no exposition format
	etag         string
	lastModified string
	maxAge       time.Duration
}

// fetch sends one GET and reads the answer within the body limit.
func (t *Target) fetch(ctx context.Context) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.ep.reqURL, nil)
	if err != nil {
		return response{}, errors.New("build request: url is not valid")
	}
	req.Header = t.header.Clone()
	if t.etag != "" {
		req.Header.Set("If-None-Match", t.etag)
	}
	if t.lastModified != "" {
		req.Header.Set("If-Modified-Since", t.lastModified)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error prints the URL, query secrets included
		}
		return response{}, fmt.Errorf("GET: %w", err)
	}
	defer resp.Body.Close()

	r := response{
		etag:         resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"),
		maxAge:       cacheMaxAge(resp.Header),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		r.notModified = true
		return r, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		se := &StatusError{Status: resp.StatusCode}
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			se.Snippet = readSnippet(resp, secretValues(resp.Request, &t.httpCfg))
		}
		return response{}, se
	}
	ct := resp.Header.Get("Content-Type")
	var exposition bool
	if r.format, exposition = parseContentType(ct); !exposition {
		r.foreignType = ct
	}
	r.body, err = t.readBody(resp)
	if err != nil {
		return response{}, err
	}
	return r, nil
}

// parseError wraps a parse failure of r's body; a body that also came
// with a foreign Content-Type is reported as a ContentTypeError.
func (r response) parseError(err error) error {
	if r.foreignType != "" {
		return &ContentTypeError{ContentType: r.foreignType, Err: err}
	}
	return fmt.Errorf("parse: %w", err)
}

// readBody reads the whole body into the target's reused buffer, decoding
// gzip itself. Neither the bytes read from the wire nor the decoded bytes
// may exceed MaxBodyBytes; at most MaxBodyBytes+1 bytes are read either way.
func (t *Target) readBody(resp *http.Response) ([]byte, error) {
	limit := t.maxBody
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("content-length %d over %d bytes: %w", resp.ContentLength, limit, ErrBodyTooLarge)
	}
	wire := &countingReader{r: io.LimitReader(resp.Body, limit+1)}
	var src io.Reader = wire
	hint := int64(-1)
	if t.prevLen > 0 {
		hint = int64(t.prevLen) + 1 // gzip, or no Content-Length: the last answer's size
	}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		if resp.ContentLength >= 0 {
			hint = resp.ContentLength + 1 // +1 so EOF needs no growth
		}
	case "gzip", "x-gzip":
		if t.gzBuf == nil {
			t.gzBuf = bufio.NewReaderSize(wire, 32<<10)
		} else {
			t.gzBuf.Reset(wire)
		}
		var err error
		if t.gz == nil {
			t.gz, err = gzip.NewReader(t.gzBuf)
		} else {
			err = t.gz.Reset(t.gzBuf)
		}
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		src = t.gz
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	body, err := readBounded(t.bodies.get(hint), src, limit, hint)
	if err != nil || wire.n > limit {
		body = nil // never pool a buffer that hit the limit
	}
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return nil, fmt.Errorf("decoded body over %d bytes: %w", limit, err)
	case wire.n > limit:
		return nil, fmt.Errorf("body over %d bytes on the wire: %w", limit, ErrBodyTooLarge)
	case err != nil:
		return nil, fmt.Errorf("read body: %w", err)
	}
	return body, nil
}

// readBounded reads r to EOF into buf[:0], growing it as needed but never
// beyond limit+1 bytes of capacity, and fails with ErrBodyTooLarge once more
// than limit bytes arrive. hint, when positive, is the expected size + 1.
func readBounded(buf []byte, r io.Reader, limit, hint int64) ([]byte, error) {
	buf = buf[:0]
	if hint > limit+1 {
		hint = limit + 1
	}
	if hint > int64(cap(buf)) {
		// Room for the answer to grow a little, so that the next scrape
		// of this size still fits this buffer when it is reused.
		buf = make([]byte, 0, min(hint+hint/8, limit+1))
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, ErrBodyTooLarge
			}
			n := max(int64(2*cap(buf)), minBodyBuffer)
			n = min(n, limit+1)
			nb := make([]byte, len(buf), n)
			copy(nb, buf)
			buf = nb
		}
		end := cap(buf)
		if int64(end) > limit+1 {
			end = int(limit + 1)
		}
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, ErrBodyTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readSnippet returns the start of an error answer, cleaned for a log line.
func readSnippet(resp *http.Response, secrets []string) string {
	var r io.Reader = io.LimitReader(resp.Body, snippetReadMax)
	if strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return ""
		}
		r = zr
	}
	b, _ := io.ReadAll(io.LimitReader(r, snippetReadMax))
	return sanitizeSnippet(string(b), secrets)
}

// sanitizeSnippet redacts secrets (before truncating, so no prefix of one
// survives), turns control characters into spaces, collapses whitespace and
// truncates to snippetMax bytes on a rune boundary.
func sanitizeSnippet(s string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "<secret>")
		}
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			r = '?'
		case unicode.IsSpace(r) || !unicode.IsPrint(r):
			space = b.Len() > 0
			continue
		}
		need := utf8.RuneLen(r)
		if space {
			need++
		}
		if b.Len()+need > snippetMax {
			return b.String() + "..."
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cacheMaxAge reads Cache-Control max-age less Age (RFC 9111); no-store and
// no-cache mean 0.
func cacheMaxAge(h http.Header) time.Duration {
	const maxDelta = 1<<31 - 1 // RFC 9111 §1.2.2
	age := int64(-1)
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				if err == nil && n >= 0 {
					age = min(n, maxDelta)
				}
			}
		}
	}
	if age <= 0 {
		return 0
	}
	if v := h.Get("Age"); v != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			age -= min(n, maxDelta)
		}
	}
	if age <= 0 {
		return 0
	}
	return time.Duration(age) * time.Second
}
