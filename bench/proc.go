package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server process the benchmark started: Tender or the floor.
type proc struct {
	cmd   *exec.Cmd
	URL   string
	Key   string        // Tender's sandbox API key
	Ready time.Duration // from exec to the first 200 from /readyz
	out   *strings.Builder
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProc runs bin with args and waits until url+"/readyz" answers 200.
// keyLine, when set, is the stdout prefix of the line that holds the key.
func startProc(ctx context.Context, bin string, args []string, url, keyLine string) (*proc, error) {
	p := &proc{URL: url, out: &strings.Builder{}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.out
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if line := sc.Text(); !sent && keyLine != "" && strings.HasPrefix(line, keyLine) {
				keyc <- strings.TrimSpace(strings.TrimPrefix(line, keyLine))
				sent = true
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(2 * time.Minute) // a fleet of sandbox terminals is registered first
	for {
		res, err := client.Get(url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Stop()
			return nil, fmt.Errorf("%s did not become ready: %v\n%s", bin, err, p.out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.Ready = time.Since(began)
	if keyLine != "" {
		select {
		case p.Key = <-keyc:
		case <-time.After(10 * time.Second):
			p.Stop()
			return nil, fmt.Errorf("%s printed no API key", bin)
		}
	}
	return p, nil
}

// Stop ends the process (SIGINT, then SIGKILL after 5 s).
func (p *proc) Stop() {
	if p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// RSS is the process's resident set in bytes (Linux /proc).
func (p *proc) RSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return -1
}

// CPU is the process's user+system CPU time so far (Linux /proc).
func (p *proc) CPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// FDs is how many file descriptors the process has open (Linux /proc):
// its connections, for one.
func (p *proc) FDs() int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// machineCPU is the time every core of the machine has been busy and in
// all since boot (Linux /proc/stat, the "cpu" line), for telling whether
// a run saturated the machine whoever used it.
func machineCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:min(len(f), 9)] { // guest time is counted in user already
		n, _ := strconv.ParseInt(v, 10, 64)
		d := time.Duration(n) * (time.Second / 100) // USER_HZ
		total += d
		if i != 3 && i != 4 { // idle, iowait
			busy += d
		}
	}
	return busy, total
}

// selfCPU is the user+system CPU time this process has used (getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
