package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tenderpay/tender/client"
	"golang.org/x/term"
)

// progress shows a payment's status as it changes: on a terminal one line,
// rewritten with the elapsed time; otherwise a plain line per change.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	start  time.Time
	line   string
	paused bool
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd())), start: time.Now()}
}

func describe(p *client.Payment) string {
	s := string(p.Status)
	switch p.Status {
	case client.StatusProcessing:
		s += ": the terminal is working on it"
	case client.StatusUnknown:
		s += ": the outcome is in doubt; Tender asks the provider"
	case client.StatusPending:
		s += ": being sent to the provider"
	}
	return p.ID + " " + s
}

func (p *progress) status(pay *client.Payment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := describe(pay)
	if line == p.line && !p.paused {
		return
	}
	p.line = line
	p.paused = false
	if p.tty {
		p.redraw()
		return
	}
	fmt.Fprintf(p.w, "%6.1fs %s\n", time.Since(p.start).Seconds(), p.line)
}

// redraw rewrites the one line (TTY only); p.mu is held.
func (p *progress) redraw() {
	fmt.Fprintf(p.w, "\r\x1b[K%6.1fs %s", time.Since(p.start).Seconds(), p.line)
}

// tick keeps the elapsed time moving on a terminal until stop is called.
func (p *progress) tick() (stop func()) {
	if !p.tty {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.mu.Lock()
				if !p.paused {
					p.redraw()
				}
				p.mu.Unlock()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// pause stops redrawing (while a question is asked).
func (p *progress) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
}

// done ends the updating line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.redraw()
		fmt.Fprintln(p.w)
	}
}
