package config

import (
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/promfwd/promfwd/scrape"
)

// redactURLs masks, in rendered config, the values of every url and *_url
// key: their query values (?api_key=...) become <secret> and user info is
// dropped, the same rendering logs and errors use (scrape.RedactURL).
func redactURLs(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isURLKey(k.Value) && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value != "" {
				if u, err := url.Parse(v.Value); err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
					v.Value = scrape.RedactURL(v.Value) // else printed as written
				}
				continue
			}
			redactURLs(v)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			redactURLs(c)
		}
	}
}

func isURLKey(k string) bool { return k == "url" || strings.HasSuffix(k, "_url") }
