package kubetest

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
)

// CAPEM is the PEM certificate a client trusts to reach a TLS server
// (nil without TLS).
func (s *Server) CAPEM() []byte {
	if !s.opts.TLS {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// WriteKubeconfig writes a kubeconfig file at path whose current context
// points at the server, trusting its certificate, with its bearer token if
// it has one (client-go reads the token only for a TLS server).
func (s *Server) WriteKubeconfig(path string) error {
	cluster := "{server: " + strconv.Quote(s.URL())
	if ca := s.CAPEM(); ca != nil {
		cluster += ", certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca)
	}
	cluster += "}"
	user := "{}"
	if s.opts.Token != "" {
		user = "{token: " + strconv.Quote(s.opts.Token) + "}"
	}
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: kubetest
    cluster: %s
users:
  - name: kubetest
    user: %s
contexts:
  - name: kubetest
    context: {cluster: kubetest, user: kubetest}
current-context: kubetest
`, cluster, user)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		return fmt.Errorf("kubetest: write kubeconfig: %w", err)
	}
	return nil
}
