package forwarder

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Without it the browser test skips
// on a developer machine and fails in CI (CI=true), where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("PROMFWD_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it with apt-get (Debian package chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); set CI=true to make this a failure")
	return ""
}

// screenshotDir is where the browser test writes its screenshots:
// $PROMFWD_SCREENSHOT_DIR if set, else a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("PROMFWD_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestStatusPagesInBrowser opens every page in headless Chromium on a
// running promfwd with a healthy source, a failing source and a sink that
// is down, reads what an operator would read there, and takes screenshots.
func TestStatusPagesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	s := newStatusRig(t)
	s.awaitOperatorView(t)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	queueBytes := func() int64 {
		t.Helper()
		a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#sink-splunk .queue-bytes"), "data-bytes"))
		if err != nil || !a.Exists {
			t.Fatalf("queue bytes: %v (attribute present: %v)", err, a.Exists)
		}
		n, _ := strconv.ParseInt(a.Value, 10, 64)
		return n
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(shots, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d bytes)", path, len(png))
	}
	expect := func(where, got string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", where, got, w)
			}
		}
	}

	// Overview: sources up and down, the sink that is down.
	do("overview", chromedp.Navigate(s.base+"/"))
	expect("overview sources", text("#sources"), "1 up", "1 down")
	expect("overview sinks", text("#sinks"), "splunk", "retrying", "connection refused", "out", "healthy")
	expect("overview version", text("#version"), "test")
	shot("overview.png")

	// Targets: the failing source's reason and the 304 of the healthy one.
	do("targets", chromedp.Navigate(s.base+"/targets"))
	billing := text("#target-billing")
	expect("billing row", billing, "down", "auth", "401")
	expect("scout row", text("#target-scout"), "up", "304 Not Modified", `job="scout"`)
	if strings.Contains(billing, "SECRET") {
		t.Errorf("billing row shows a secret: %q", billing)
	}
	shot("targets.png")

	// Filter by state with the page's own form; the result is a link.
	do("filter down",
		chromedp.SetValue(chromedp.CSS(`select[name="state"]`), "down"),
		chromedp.Click(chromedp.CSS(`#filter button`)),
		chromedp.WaitNotPresent(chromedp.CSS("#target-scout")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "state=down") {
		t.Errorf("filtered location %q lacks state=down", loc)
	}
	if n := count("#target-billing"); n != 1 {
		t.Errorf("state=down lists billing %d times, want once", n)
	}
	shot("targets-down.png")

	// Sinks: the down sink's reason, its charts, its queue growing.
	do("sinks", chromedp.Navigate(s.base+"/sinks"))
	expect("splunk section", text("#sink-splunk"), "retrying", "connection refused")
	if n := count("#sink-splunk svg.chart"); n != 3 {
		t.Errorf("splunk has %d charts, want 3 (sent, queue, drops)", n)
	}
	if n := count("#sink-splunk svg.chart-queue polyline"); n != 1 {
		t.Errorf("the queue chart has no line")
	}
	first := queueBytes()
	shot("sinks.png")
	deadline := time.Now().Add(runWait)
	for queueBytes() <= first {
		if time.Now().After(deadline) {
			t.Fatalf("the splunk queue stayed at %d bytes on /sinks", first)
		}
		time.Sleep(200 * time.Millisecond) // polling a page, not synchronising
		do("reload sinks", chromedp.Navigate(s.base+"/sinks"))
	}
	shot("sinks-later.png")

	// Config: the effective config with secrets redacted.
	do("config", chromedp.Navigate(s.base+"/config"))
	cfg := text("#config")
	expect("config", cfg, "name: splunk", "token: <secret>")
	if found := findSecrets(cfg); len(found) > 0 {
		t.Errorf("config page shows %q", found)
	}
	shot("config.png")
}
