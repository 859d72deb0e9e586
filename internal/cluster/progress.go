package cluster

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Progress hears about steps as they run.
type Progress interface {
	Start(step string)
	Done(step string, elapsed time.Duration, err error)
	// Note prints a line of its own.
	Note(msg string)
}

// NopProgress ignores everything.
type NopProgress struct{}

func (NopProgress) Start(string)                      {}
func (NopProgress) Done(string, time.Duration, error) {}
func (NopProgress) Note(string)                       {}

// LineProgress prints one line per finished step, "✓ start masters (0.41s)", and, on a
// terminal, a spinner line with the running step's name and elapsed time.
type LineProgress struct {
	w        io.Writer
	spinning bool

	mu    sync.Mutex
	stop  chan struct{}
	done  chan struct{}
	step  string
	start time.Time
}

// NewLineProgress returns a LineProgress writing to w; the spinner runs when w is a terminal.
func NewLineProgress(w io.Writer) *LineProgress {
	return &LineProgress{w: w, spinning: IsTerminal(w)}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

var spinnerFrames = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// Start begins a step: on a terminal, a spinner line until Done.
func (p *LineProgress) Start(step string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopSpinner()
	p.step, p.start = step, time.Now()
	if !p.spinning {
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.spin(step, p.start, p.stop, p.done)
}

func (p *LineProgress) spin(step string, start time.Time, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(80 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		fmt.Fprintf(p.w, "\r\033[K%c %s %.1fs", spinnerFrames[i%len(spinnerFrames)], step, time.Since(start).Seconds())
		select {
		case <-stop:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
		}
	}
}

// stopSpinner stops the spinner and clears its line; p.mu is held.
func (p *LineProgress) stopSpinner() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop, p.done = nil, nil
}

// Done ends a step with its line: ✓ on success, ✗ on failure (the caller reports the error).
func (p *LineProgress) Done(step string, elapsed time.Duration, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopSpinner()
	if err != nil {
		fmt.Fprintf(p.w, "✗ %s (%s)\n", step, fmtSeconds(elapsed))
		return
	}
	fmt.Fprintf(p.w, "✓ %s (%s)\n", step, fmtSeconds(elapsed))
}

// Note prints msg on a line of its own, above the spinner.
func (p *LineProgress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	running := p.stop != nil
	p.stopSpinner()
	fmt.Fprintln(p.w, msg)
	if running {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin(p.step, p.start, p.stop, p.done)
	}
}

// Close stops the spinner, if one runs.
func (p *LineProgress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopSpinner()
}

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// progressNotes lets a provider report lines of progress (ProgressReporter) to whatever up
// sets, if anything.
type progressNotes struct {
	mu sync.Mutex
	p  Progress
}

// SetProgress makes the provider report lines of progress to p.
func (pn *progressNotes) SetProgress(p Progress) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	pn.p = p
}

// note reports one line of progress.
func (pn *progressNotes) note(format string, args ...any) {
	pn.mu.Lock()
	p := pn.p
	pn.mu.Unlock()
	if p != nil {
		p.Note(fmt.Sprintf(format, args...))
	}
}
