package config

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/prometheus/exporter-toolkit/web"
)

// checkWebConfig resolves server.web_config_file against the config file's
// directory and checks it as the server will read it (exporter-toolkit's
// web.Validate: YAML, bcrypt hashes, TLS files), so a bad file fails at
// load and at `promfwd check`, not at the first request.
func (s *ServerConfig) checkWebConfig(configFile string) error {
	if s.WebConfigFile == "" {
		return nil
	}
	if s.Listen == "" {
		return errors.New("is set but server.listen is empty: there is no server to secure")
	}
	if !filepath.IsAbs(s.WebConfigFile) && configFile != "" {
		s.WebConfigFile = filepath.Join(filepath.Dir(configFile), s.WebConfigFile)
	}
	if err := web.Validate(s.WebConfigFile); err != nil {
		return fmt.Errorf("%s: %w", s.WebConfigFile, err)
	}
	return nil
}
