package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/sinks/datadog"
)

// sinkErrPrefixes are the package prefixes the sink types' Validate put on
// their messages. Under sinks[i] they only repeat what the path says.
var sinkErrPrefixes = []string{"hec sink config: ", "hec: ", "datadog: ", "remotewrite: ", "remote_write: ", "stdout: "}

// sinkValidateErrors positions the errors of a sink type's Validate at the
// key they name. Every Validate words its problems "key: what is wrong"
// (key may be dotted, ack.poll_interval, or indexed, tags[0]); a problem
// whose key is not in the file (a required key left out) stays at the sink.
// errors.Join'ed problems are reported one by one.
func (d *decoder) sinkValidateErrors(n *yaml.Node, path, typ string, err error, reported map[string]bool) error {
	var leaves []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		leaves = append(leaves, e)
	}
	// A joined error may sit under one fmt.Errorf("prefix: %w") layer.
	if u := errors.Unwrap(err); u != nil {
		if _, ok := u.(interface{ Unwrap() []error }); ok {
			walk(u)
		}
	}
	if leaves == nil {
		walk(err)
	}
	var errs collect
	for _, e := range leaves {
		msg := stripSinkPrefixes(e.Error())
		key, rest := splitKey(msg)
		if reported[key] {
			continue // checkSinkNodes said it better
		}
		if key == "site" && typ == "datadog" {
			if site := child(n, "site"); site != nil {
				if s := suggest(site.Value, datadog.Sites()); s != "" {
					rest += fmt.Sprintf("; did you mean %q?", s)
				}
			}
		}
		if at, kpath := keyNode(n, key); at != nil {
			errs.add(d.errf(at, joinPath(path, kpath), "%s", rest))
			continue
		}
		errs.add(d.errf(n, path, "%s", msg))
	}
	return errs.err()
}

func stripSinkPrefixes(msg string) string {
	for again := true; again; {
		again = false
		for _, p := range sinkErrPrefixes {
			if s, ok := strings.CutPrefix(msg, p); ok {
				msg, again = s, true
			}
		}
	}
	return msg
}

// splitKey cuts "key: rest" (or stdout's "key 123: rest"); key is "" when
// msg does not start with something shaped like a key.
func splitKey(msg string) (key, rest string) {
	i := strings.IndexAny(msg, ": ,")
	if i <= 0 {
		return "", msg
	}
	key = msg[:i]
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '[' || c == ']') {
			return "", msg
		}
	}
	if r, ok := strings.CutPrefix(msg[i:], ": "); ok {
		return key, r
	}
	// stdout's "max_request_bytes -1: must be ...": drop the repeated key.
	if r, ok := strings.CutPrefix(msg[i:], " "); ok {
		if v, _, found := strings.Cut(r, ": "); found && !strings.Contains(v, " ") {
			return key, r
		}
	}
	return key, msg // "token, token_file: set only one": keep it whole
}

// keyNode finds the value node of a dotted/indexed key under the mapping n
// and returns it with the key as a field path. A key whose first part is in
// the file but not the rest (basic_auth.username left out) is placed at the
// deepest part present, as validator.errAt does; nil if the first part is
// not in the file either.
func keyNode(n *yaml.Node, key string) (*yaml.Node, string) {
	if key == "" {
		return nil, ""
	}
	cur, path, found := n, "", n
	for j, part := range strings.Split(key, ".") {
		name, idx, _ := strings.Cut(part, "[")
		path = joinPath(path, name)
		if cur != nil {
			if cur = child(cur, name); cur != nil {
				found = cur
			} else if j == 0 {
				return nil, ""
			}
		}
		if idx != "" {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil {
				return nil, ""
			}
			path = indexPath(path, i)
			if cur != nil {
				if cur = child(cur, i); cur != nil {
					found = cur
				}
			}
		}
	}
	return found, path
}

// checkSinkNodes finds what only the file shows: a url without a scheme
// ("localhost:8088" parses as scheme "localhost"), and a Datadog site given
// together with a url (site has a default, so the decoded config cannot
// tell). It returns the keys it reported, so Validate's vaguer words about
// them are dropped.
func (d *decoder) checkSinkNodes(n *yaml.Node, path, typ string) (map[string]bool, error) {
	reported := map[string]bool{}
	var errs collect
	if u := child(n, "url"); u != nil && u.Kind == yaml.ScalarNode && u.Value != "" && !strings.Contains(u.Value, "://") {
		errs.add(d.errf(u, joinPath(path, "url"), "url has no scheme: start it with http:// or https://"))
		reported["url"] = true
	}
	if typ == "datadog" {
		if site, u := child(n, "site"), child(n, "url"); site != nil && u != nil {
			errs.add(d.errf(site, joinPath(path, "site"), "set site or url, not both (url replaces the site's intake address)"))
			reported["site"] = true
		}
	}
	return reported, errs.err()
}
