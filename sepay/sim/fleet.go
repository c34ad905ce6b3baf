package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/tenderpay/tender/sepay"
)

// MaxTerminals bounds how many terminals one bulk registration (and the
// sandbox) may add: enough for a fleet, not a typo's worth of memory.
const MaxTerminals = 100000

// stats counts the simulator's RSA work, so that a benchmark can tell how
// many signatures a payment costs. Every request Tender sends is signed by
// Tender and checked here, so checked is also Tender's signing count.
type stats struct {
	signed    atomic.Int64 // responses and callbacks signed here
	checked   atomic.Int64 // request signatures verified here
	callbacks atomic.Int64
	requests  [3]atomic.Int64 // StartTransaction, GetTransactionStatus, CancelTransaction
}

// Stats are the simulator's counters since it started.
type Stats struct {
	// Signed is how many responses and callbacks the simulator signed;
	// Checked how many request signatures it verified (each one a
	// signature the client made).
	Signed    int64            `json:"signed"`
	Checked   int64            `json:"checked"`
	Callbacks int64            `json:"callbacks"`
	Requests  map[string]int64 `json:"requests"`
}

var statOps = [3]*sepay.Operation{sepay.StartTransaction, sepay.GetTransactionStatus, sepay.CancelTransaction}

func (st *stats) request(op *sepay.Operation) {
	for i, o := range statOps {
		if o == op {
			st.requests[i].Add(1)
		}
	}
}

// Stats returns the simulator's counters.
func (s *Sim) Stats() Stats {
	out := Stats{Signed: s.stats.signed.Load(), Checked: s.stats.checked.Load(), Callbacks: s.stats.callbacks.Load(),
		Requests: map[string]int64{}}
	for i, o := range statOps {
		out.Requests[o.Name] = s.stats.requests[i].Load()
	}
	return out
}

func (s *Sim) sign(canonical string) (string, error) {
	s.stats.signed.Add(1)
	return sepay.Sign(s.opts.Key, canonical)
}

// SandboxSID is the SID of the sandbox's i-th terminal (from 1):
// SandboxSID1, SandboxSID2, then on up.
func SandboxSID(i int) string { return strconv.Itoa(10000000 + i) }

// AddTerminals links count terminals to login, with SIDs counting up from
// first (an 8-digit number), as AddTerminal does one by one.
func (s *Sim) AddTerminals(loginName string, first, count int) error {
	if count < 1 || count > MaxTerminals {
		return fmt.Errorf("sepay sim: count must be between 1 and %d, not %d", MaxTerminals, count)
	}
	if first < 10000000 || first+count-1 > 99999999 {
		return fmt.Errorf("sepay sim: SIDs from %d for %d terminals are not all 8-digit numbers", first, count)
	}
	for i := range count {
		if err := s.AddTerminal(loginName, strconv.Itoa(first+i), "127.0.0.1", 4000+(first+i-10000001)%10000); err != nil {
			return err
		}
	}
	return nil
}

// terminalsRequest is the body of POST /_sim/terminals: SIDs by name, or
// count SIDs counting up from first.
type terminalsRequest struct {
	Login string   `json:"login"`
	SIDs  []string `json:"sids"`
	First int      `json:"first"`
	Count int      `json:"count"`
}

// serveAddTerminals is POST /_sim/terminals (the simulator's, not Sepay's):
// {"login": L, "sids": [...]} or {"login": L, "first": 10000003, "count": 500}.
func (s *Sim) serveAddTerminals(w http.ResponseWriter, r *http.Request) {
	var req terminalsRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&req); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var err error
	switch {
	case req.Login == "":
		err = fmt.Errorf("login is required")
	case len(req.SIDs) > 0 && req.Count > 0:
		err = fmt.Errorf("give sids or first and count, not both")
	case len(req.SIDs) > MaxTerminals:
		err = fmt.Errorf("at most %d sids at once", MaxTerminals)
	case len(req.SIDs) > 0:
		for _, sid := range req.SIDs {
			if sid == "" {
				err = fmt.Errorf("sids: an empty SID")
				break
			}
		}
		for _, sid := range req.SIDs {
			if err != nil {
				break
			}
			err = s.AddTerminal(req.Login, sid, "127.0.0.1", 4000)
		}
	default:
		err = s.AddTerminals(req.Login, req.First, req.Count)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
