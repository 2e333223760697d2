// Command promfwd scrapes Prometheus/OpenMetrics endpoints on a schedule and
// pushes every sample to Splunk HEC, Datadog, Prometheus remote-write or
// stdout. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/promfwd/promfwd/configs"
	"github.com/promfwd/promfwd/forwarder"
	"github.com/promfwd/promfwd/forwarder/config"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: promfwd <command> [flags]

commands:
  run     [-config FILE] [-docker-plugin SOCKET]
                                    run the service (no -config: $PROMFWD_CONFIG, else the
                                    embedded quickstart); -docker-plugin serves the Docker
                                    metrics-collector plugin protocol on SOCKET
  check   -config FILE [-offline]
                                    validate and print the effective config (secrets redacted);
                                    credential files must be readable and data_dir usable by
                                    this user, unless -offline (a config checked on another host)
  once    -config FILE [-sink NAME] scrape every source once and show what each sink would receive
  version                           print the version

-config defaults to $PROMFWD_CONFIG for every command. Under systemd (Type=notify)
run sends READY/RELOADING/STOPPING/STATUS and honours WatchdogSec=.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("promfwd "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Each command defines only the flags it uses, so `promfwd run --help`
	// lists run's flags and nothing else.
	configFile := fs.String("config", "", "config file (YAML); default $"+envConfig)
	var (
		logLevel, logFormat = new(string), new(string)
		only, pluginSocket  = new(string), new(string)
		statusEvery         = new(time.Duration)
		offline             = new(bool)
	)
	*statusEvery = defaultStatusInterval
	fs.StringVar(logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(logFormat, "log-format", "auto", "json, console, or auto (console on a terminal)")
	switch cmd {
	case "run":
		fs.StringVar(pluginSocket, "docker-plugin", "", "serve the Docker metrics-collector plugin protocol on this unix socket")
		fs.DurationVar(statusEvery, "status-interval", defaultStatusInterval, "how often to update the systemd STATUS= line")
	case "check":
		fs.BoolVar(offline, "offline", false, "check the file only, not this host: skip reading credential files and probing data_dir (a config checked on another machine, e.g. in CI)")
	case "once":
		fs.StringVar(only, "sink", "", "show only this sink")
	}
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "promfwd", version())
		return 0
	case "run", "check", "once":
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "promfwd: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // asked for: the flags went to stderr
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "promfwd %s: unexpected arguments %v\n", cmd, fs.Args())
		return 2
	}
	if *configFile == "" {
		*configFile = os.Getenv(envConfig)
	}
	if (cmd == "check" || cmd == "once") && *configFile == "" {
		fmt.Fprintf(stderr, "promfwd %s: -config (or $%s) is required\n", cmd, envConfig)
		return 2
	}
	if *statusEvery <= 0 {
		fmt.Fprintf(stderr, "promfwd %s: -status-interval must be positive\n", cmd)
		return 2
	}
	cfg, err := loadConfig(*configFile)
	if err != nil {
		// One line per problem: Load reports every problem of the file.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "promfwd %s: %s\n", cmd, line)
		}
		return 1
	}
	if cmd == "check" {
		// run would start with these, and report the source or sink
		// unhealthy until the file is there; check says so now.
		if !*offline {
			if err := cfg.CredentialFileErrors(); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintf(stderr, "promfwd check: %s\n", line)
				}
				return 1
			}
			if err := cfg.CheckDataDir(); err != nil { // as run will use it, without changing it
				fmt.Fprintf(stderr, "promfwd check: %v\n", err)
				return 1
			}
		}
		out, err := cfg.Redacted()
		if err != nil {
			fmt.Fprintf(stderr, "promfwd check: %v\n", err)
			return 1
		}
		_, _ = stdout.Write(out)
		for i := range cfg.Sinks { // aggregation outputs, as YAML comments
			for _, l := range cfg.Sinks[i].AggregateSummary() {
				fmt.Fprintf(stdout, "# %s\n", l)
			}
		}
		return 0
	}
	log, err := newLogger(*logLevel, *logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "promfwd %s: %v\n", cmd, err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	opts := forwarder.Options{Logger: log, Version: version()}
	if cmd == "once" {
		cfg.Server.Listen = ""
		cfg.DataDir = "" // never touch (or lock) a running service's queues and state
		f, err := forwarder.New(cfg, opts)
		if err != nil {
			fmt.Fprintf(stderr, "promfwd once: %v\n", err)
			return 1
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := f.Once(ctx, stdout, *only); err != nil {
			fmt.Fprintf(stderr, "promfwd once: %v\n", err)
			return 1
		}
		return 0
	}
	gcCtx, stopGC := context.WithCancel(context.Background())
	defer stopGC()
	decideGC(os.Getenv, int64(cfg.MemoryLimit), cgroupMemoryLimit).apply(gcCtx, log) // memory.go
	opts.DockerPluginSocket = *pluginSocket
	out := &syncWriter{w: stdout}
	useStdout(cfg, out)
	return serve(cfg, *configFile, opts, *statusEvery, out)
}

func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Load(configs.QuickstartName, configs.Quickstart())
	}
	return config.LoadFile(file)
}

func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		enc = zapcore.NewConsoleEncoder(encCfg)
	case "auto":
		if isTerminal(w) {
			encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
			enc = zapcore.NewConsoleEncoder(encCfg)
		} else {
			enc = zapcore.NewJSONEncoder(encCfg)
		}
	default:
		return nil, errors.New("-log-format: want json, console or auto")
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// buildVersion is stamped by the release build (go run ./deploy/release:
// -ldflags "-X main.buildVersion=1.2.3"); empty in other builds.
var buildVersion string

// version is the stamped release version, else the module version, else
// the VCS revision for a source build.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case rev == "":
		return "dev"
	case dirty:
		return rev + "-dirty"
	}
	return rev
}
