package forwarder

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v2"

	"github.com/promfwd/promfwd/forwarder/status"
)

// listenLocked binds server.listen with the status pages next to
// /metrics, secured by server.web_config_file if set. Call it under f.mu.
func (f *Forwarder) listenLocked() (*server, error) {
	h, err := status.NewHandler(statusSource{f}, f.feed.hist, f.clock.Now, f.log.Named("status"))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	webCfg := f.cfg.Server.WebConfigFile
	useTLS := false
	if webCfg != "" {
		if err := web.Validate(webCfg); err != nil {
			return nil, fmt.Errorf("server: web_config_file %s: %w", webCfg, err)
		}
		if useTLS, err = webConfigTLS(webCfg); err != nil {
			return nil, err
		}
	}
	srv, err := listen(f.cfg.Server.Listen, f.reg, f.notReady, f.log, h.Register)
	if err != nil {
		return nil, err
	}
	srv.webConfig, srv.tls = webCfg, useTLS
	return srv, nil
}

// webConfigTLS reports whether the web config turns TLS on (for the URL
// the start-up log line shows).
func webConfigTLS(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("server: web_config_file: %w", err)
	}
	var c web.Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return false, fmt.Errorf("server: web_config_file %s: %w", path, err)
	}
	return c.TLSConfig.IsEnabled(), nil
}

// serveWeb serves until shutdown: plain HTTP without a web config, else
// through exporter-toolkit's web.Serve, which re-reads the file for every
// request (users) and TLS handshake (certificates), as Prometheus does.
func (s *server) serveWeb() error {
	if s.webConfig == "" {
		return s.srv.Serve(s.ln)
	}
	path := s.webConfig
	return web.Serve(s.ln, s.srv, &web.FlagConfig{WebConfigFile: &path}, slog.New(zapHandler{s.log.Named("web")}))
}

// URL is the server's base URL.
func (s *server) URL() string {
	if s.tls {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// zapHandler lets exporter-toolkit's slog lines reach our zap logger, at
// debug level but for warnings and errors (it logs "Listening on" and
// "TLS is enabled" at info; our own start-up line says that already).
type zapHandler struct{ log *zap.Logger }

func (h zapHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.Core().Enabled(zapLevel(l))
}

func (h zapHandler) Handle(_ context.Context, r slog.Record) error {
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, zap.Any(a.Key, a.Value.Any()))
		return true
	})
	if ce := h.log.Check(zapLevel(r.Level), r.Message); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

func (h zapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	fields := make([]zap.Field, 0, len(as))
	for _, a := range as {
		fields = append(fields, zap.Any(a.Key, a.Value.Any()))
	}
	return zapHandler{h.log.With(fields...)}
}

func (h zapHandler) WithGroup(name string) slog.Handler { return zapHandler{h.log.Named(name)} }

func zapLevel(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	default:
		return zapcore.DebugLevel
	}
}
