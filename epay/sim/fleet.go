package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// MaxTerminals bounds how many terminals one bulk registration (and the
// sandbox) may add.
const MaxTerminals = 100000

// AddTerminal adds a virtual EFT-POS after the simulator was made, with an
// API key for it; its TID and backend id must be new.
func (s *Sim) AddTerminal(t TerminalConfig, key string) error {
	if len(t.TID) != 8 {
		return fmt.Errorf("epay sim: TID %q is not 8 characters", t.TID)
	}
	if key == "" {
		return fmt.Errorf("epay sim: terminal %s needs an API key", t.TID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.terminals {
		if x.TID == t.TID || x.ID == t.ID {
			return fmt.Errorf("epay sim: a terminal with TID %s or id %d exists", t.TID, t.ID)
		}
	}
	s.terminals = append(s.terminals, &terminal{TerminalConfig: t, batch: 1})
	s.apiKeys[key] = &apiKey{tid: t.TID}
	return nil
}

// FleetTerminal is one terminal POST /webecr/_sim/terminals made.
type FleetTerminal struct {
	TID    string `json:"tid"`
	ID     int64  `json:"id"`
	APIKey string `json:"api_key"`
}

// AddTerminals adds count terminals with TIDs counting up from first (an
// 8-digit number; backend ids first − 98,642,000 on, as the sandbox's
// 99000001 is 358001) and a fresh API key each, and returns them.
func (s *Sim) AddTerminals(first, count int) ([]FleetTerminal, error) {
	if count < 1 || count > MaxTerminals {
		return nil, fmt.Errorf("epay sim: count must be between 1 and %d, not %d", MaxTerminals, count)
	}
	if first < 10000000 || first+count-1 > 99999999 {
		return nil, fmt.Errorf("epay sim: TIDs from %d for %d terminals are not all 8-digit numbers", first, count)
	}
	out := make([]FleetTerminal, 0, count)
	for i := range count {
		tid := first + i
		ft := FleetTerminal{TID: strconv.Itoa(tid), ID: int64(tid) - 98642000, APIKey: randomKey()}
		if ft.ID <= 0 {
			ft.ID = int64(tid)
		}
		if err := s.AddTerminal(TerminalConfig{TID: ft.TID, ID: ft.ID, Name: "EFT-POS " + ft.TID}, ft.APIKey); err != nil {
			return out, err
		}
		out = append(out, ft)
	}
	return out, nil
}

// serveAddTerminals is POST /webecr/_sim/terminals (the simulator's, not
// ePay's): {"first": 99001000, "count": 500} adds terminals and answers
// {"terminals": [{"tid", "id", "api_key"}, ...]}.
func (s *Sim) serveAddTerminals(w http.ResponseWriter, r *http.Request) {
	var req struct {
		First int `json:"first"`
		Count int `json:"count"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		detail(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	added, err := s.AddTerminals(req.First, req.Count)
	if err != nil {
		detail(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"terminals": added})
}
