package sinks

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxReasonBytes bounds the part of a failing answer's body quoted in the
// retry warning.
const maxReasonBytes = 256

// answerURL is the URL an answer or a failed attempt was for, without
// credentials, query or fragment (a token may ride in the query), or "".
func answerURL(resp *http.Response, err error) string {
	var u *url.URL
	if resp != nil && resp.Request != nil {
		u = resp.Request.URL
	} else if ue := (*url.Error)(nil); err != nil && asURLError(err, &ue) {
		u, _ = url.Parse(ue.URL)
	}
	if u == nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

func asURLError(err error, target **url.Error) bool {
	for err != nil {
		if ue, ok := err.(*url.Error); ok {
			*target = ue
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// answerReason reads the start of a failing answer's body (the receiver's
// own explanation, such as HEC's {"text":"Server is busy","code":9}) and puts
// it back, so whoever reads the answer next still sees all of it. The text
// is cut to one line of at most maxReasonBytes.
func answerReason(resp *http.Response) string {
	if resp == nil || resp.Body == nil || resp.Body == http.NoBody {
		return ""
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxReasonBytes))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	s := strings.Join(strings.Fields(string(head)), " ")
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1] // cut inside a multi-byte character
	}
	if s == "" {
		return http.StatusText(resp.StatusCode)
	}
	return s
}
