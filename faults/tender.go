package faults

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Instance is one `tender serve` child process, killed with SIGKILL and
// restarted on the same address and database.
type Instance struct {
	Name string
	Addr string // 127.0.0.1:PORT
	Bin  string
	Args []string // after "serve"
	Env  []string
	Log  io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	up     atomic.Bool
	Kills  int
	Starts int
}

// URL is the instance's base URL.
func (in *Instance) URL() string { return "http://" + in.Addr }

// Up says whether the instance is running and answered /healthz.
func (in *Instance) Up() bool { return in.up.Load() }

// Start runs the instance and waits (at most 60 s) until /healthz answers.
func (in *Instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd != nil {
		return nil
	}
	cmd := exec.Command(in.Bin, append([]string{"serve", "--addr", in.Addr}, in.Args...)...)
	cmd.Env = append(os.Environ(), in.Env...)
	cmd.Stdout, cmd.Stderr = in.Log, in.Log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start: %w", in.Name, err)
	}
	in.cmd, in.exited = cmd, make(chan struct{})
	in.Starts++
	exited := in.exited
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			in.cmd = nil
			return fmt.Errorf("%s: exited while starting (%v); see its log", in.Name, cmd.ProcessState)
		default:
		}
		res, err := http.Get(in.URL() + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				in.up.Store(true)
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			cmd.Process.Kill()
			<-exited
			in.cmd = nil
			return fmt.Errorf("%s: not healthy after 60 s", in.Name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (in *Instance) Kill() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return
	}
	in.up.Store(false)
	in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.exited
	in.cmd = nil
	in.Kills++
}

// Stop ends the instance with SIGTERM (a graceful shutdown), SIGKILL after 20 s.
func (in *Instance) Stop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return
	}
	in.up.Store(false)
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(20 * time.Second):
		in.cmd.Process.Signal(syscall.SIGKILL)
		<-in.exited
	}
	in.cmd = nil
}

// Front is the load balancer in front of the instances: Tender's public
// URL, where providers' callbacks and shoppers' browsers arrive. It sends
// each request to the next instance that is up, as a production balancer
// with health checks would.
type Front struct {
	ln        net.Listener
	srv       *http.Server
	instances []*Instance
	next      atomic.Uint64
}

// NewFront listens on a free port of 127.0.0.1.
func NewFront() (*Front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Front{ln: ln}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			in := f.pick()
			u, _ := url.Parse(in.URL())
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "no instance answered: "+err.Error(), http.StatusBadGateway)
		},
	}
	f.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// URL is the front's base URL.
func (f *Front) URL() string { return "http://" + f.ln.Addr().String() }

// SetInstances says where to send requests.
func (f *Front) SetInstances(ins []*Instance) { f.instances = ins }

func (f *Front) pick() *Instance {
	n := f.next.Add(1)
	for i := range f.instances {
		in := f.instances[(int(n)+i)%len(f.instances)]
		if in.Up() {
			return in
		}
	}
	return f.instances[int(n)%len(f.instances)]
}

// Close stops the front.
func (f *Front) Close() { f.srv.Close() }

// freeAddr returns a free 127.0.0.1 port's address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
