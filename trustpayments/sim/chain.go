package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// card3DS is how a test card behaves in 3-D Secure (notes §10).
type card3DS int

const (
	frictionless    card3DS = iota // enrolled Y, status Y
	notEnrolled                    // enrolled N: AUTH without authentication
	attempted                      // status A, eci 06
	failedAuth                     // status N: 60022, AUTH not performed
	challengeCard                  // status C: step-up, OTP 1234
	failedChallenge                // step-up that fails whatever the OTP
	lookupError                    // 60010 on the 3-D Secure lookup
)

// cards3DS are the documented test cards (notes §10).
var cards3DS = map[string]card3DS{
	"4000000000000721": notEnrolled,
	"4000000000001026": attempted,
	"4000000000001018": failedAuth, "4000000000001042": failedAuth,
	"4900490000000519": failedAuth, "5591390000000520": failedAuth, "340000000004019": failedAuth, "6599999900000313": failedAuth,
	"4000000000001091": challengeCard, "5200000000001096": challengeCard, "340000000001098": challengeCard,
	"5200000000001104": failedChallenge,
	"4000000000001067": lookupError,
}

// declineCards decline at AUTH (notes §10).
var declineCards = map[string]bool{"4000000000000812": true, "4242424242424242": true, "5100000000000412": true}

// OTP is the sandbox's 3-D Secure challenge code.
const OTP = "1234"

type challenge struct {
	id, site, order, tdq  string
	card                  card
	failing, done, passed bool
}

type card struct{ pan, expiry, cvv string }

func paymentType(pan string) string {
	switch {
	case strings.HasPrefix(pan, "34"), strings.HasPrefix(pan, "37"):
		return "AMEX"
	case strings.HasPrefix(pan, "4"):
		return "VISA"
	case strings.HasPrefix(pan, "5"):
		return "MASTERCARD"
	case strings.HasPrefix(pan, "6"):
		return "DISCOVER"
	}
	return "VISA"
}

func mask(pan string) string {
	if len(pan) < 12 {
		return strings.Repeat("#", len(pan))
	}
	return pan[:6] + strings.Repeat("#", len(pan)-10) + pan[len(pan)-4:]
}

func luhn(pan string) bool {
	if len(pan) < 12 || len(pan) > 19 {
		return false
	}
	sum := 0
	for i := range len(pan) {
		d := int(pan[len(pan)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// checkCard validates card fields as the gateway does: 30000 naming the field.
func (s *Sim) checkCard(c card) string {
	if !luhn(c.pan) {
		return "pan"
	}
	m, y, ok := strings.Cut(c.expiry, "/")
	mm, err1 := strconv.Atoi(m)
	yy, err2 := strconv.Atoi(y)
	if !ok || err1 != nil || err2 != nil || mm < 1 || mm > 12 || (len(y) != 2 && len(y) != 4) {
		return "expirydate"
	}
	if len(y) == 2 {
		yy += 2000
	}
	if !time.Date(yy, time.Month(mm)+1, 1, 0, 0, 0, 0, time.UTC).After(s.opts.Clock.Now()) {
		return "expirydate"
	}
	want := 3
	if paymentType(c.pan) == "AMEX" {
		want = 4
	}
	if len(c.cvv) != want || strings.Trim(c.cvv, "0123456789") != "" {
		return "securitycode"
	}
	return ""
}

// chain runs the request types in order and returns the response
// elements, the types that remain (a challenge stops the chain) and the
// reference of the last successful step.
func (s *Sim) chain(site *Site, o order, types []string, payload map[string]json.RawMessage, in map[string]json.RawMessage) ([]elem, []string, string) {
	c := card{pan: str(in["pan"]), expiry: str(in["expirydate"]), cvv: str(in["securitycode"])}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []elem
	parent := o.parent
	enrolled, status, eci := "", "", ""
	for i, typ := range types {
		switch typ {
		case "THREEDQUERY":
			if f := s.checkCard(c); f != "" {
				return append(out, errElem(typ, "30000", "Invalid field", f)), types[i:], ""
			}
			tx := s.newTx(Tx{Type: typ, Site: site.Reference, OrderReference: o.ref, Parent: parent, Currency: o.currency,
				BaseAmount: o.amount, MaskedPAN: mask(c.pan), PaymentType: paymentType(c.pan), ErrorCode: "0", ErrorMessage: "Ok", Enrolled: "Y"})
			e := elem{"requesttypedescription": typ, "transactionreference": tx.Reference, "errorcode": "0", "errormessage": "Ok",
				"enrolled": "Y", "threedversion": "2.2.0", "maskedpan": tx.MaskedPAN, "paymenttypedescription": tx.PaymentType}
			behaviour := cards3DS[c.pan]
			if o.amount%100 == 54 {
				behaviour = failedAuth // sandbox rule 54: the cardholder abandons authentication
			}
			switch behaviour {
			case notEnrolled:
				tx.Enrolled, tx.Status = "N", ""
				enrolled, status = "N", ""
			case attempted:
				tx.Status, enrolled, status, eci = "A", "Y", "A", "06"
			case failedAuth:
				tx.Status, tx.ErrorCode, tx.ErrorMessage = "N", "60022", "Unauthenticated"
				e["status"], e["errorcode"], e["errormessage"], e["customeroutput"], e["settlestatus"] = "N", "60022", "Unauthenticated", "RESULT", "3"
				return append(out, e), types[i:], ""
			case lookupError:
				tx.Enrolled, tx.ErrorCode, tx.ErrorMessage = "U", "60010", "Bank System Error"
				e["enrolled"], e["errorcode"], e["errormessage"], e["customeroutput"] = "U", "60010", "Bank System Error", "RESULT"
				return append(out, e), types[i:], ""
			case challengeCard, failedChallenge:
				ch := &challenge{id: randHex(12), site: site.Reference, order: o.ref, card: c, tdq: tx.Reference, failing: behaviour == failedChallenge}
				s.challenges[ch.id] = ch
				tx.Status = "C"
				creq, _ := json.Marshal(map[string]string{"messageType": "CReq", "messageVersion": "2.2.0", "acsTransID": ch.id, "challengeWindowSize": "02"})
				e["status"], e["customeroutput"] = "C", "THREEDREDIRECT"
				e["acsurl"] = s.opts.BaseURL + "/acs/challenge"
				e["threedpayload"] = base64.RawURLEncoding.EncodeToString(creq)
				return append(out, e), types[i+1:], tx.Reference
			default:
				tx.Status, enrolled, status, eci = "Y", "Y", "Y", "05"
			}
			e["status"] = tx.Status
			out = append(out, e)
			parent = tx.Reference
		case "AUTH":
			// After a challenge: the parent THREEDQUERY must have a passed
			// challenge, proven by threedresponse.
			if tdq := s.byRef[parent]; tdq != nil && tdq.Type == "THREEDQUERY" && tdq.Status == "C" {
				ch := s.challengeFor(str(in["threedresponse"]), tdq.Reference)
				if ch == nil || !ch.done {
					return append(out, errElem(typ, "30000", "Invalid field", "threedresponse")), types[i:], ""
				}
				if c.pan == "" {
					c = ch.card // as st.js's cachetoken stands for the card
				} else if c.pan != ch.card.pan {
					return append(out, errElem(typ, "30000", "Invalid field", "pan")), types[i:], ""
				}
				if !ch.passed {
					tdq.Status, tdq.ErrorCode, tdq.ErrorMessage = "N", "60022", "Unauthenticated"
					e := elem{"requesttypedescription": typ, "errorcode": "60022", "errormessage": "Unauthenticated", "customeroutput": "RESULT",
						"enrolled": "Y", "status": "N", "settlestatus": "3"}
					return append(out, e), types[i:], ""
				}
				tdq.Status = "Y"
				enrolled, status, eci = "Y", "Y", "05"
			}
			if f := s.checkCard(c); f != "" {
				return append(out, errElem(typ, "30000", "Invalid field", f)), types[i:], ""
			}
			out = append(out, s.auth(site, o, c, parent, enrolled, status, eci))
			parent = out[len(out)-1]["transactionreference"].(string)
		case "ACCOUNTCHECK":
			if f := s.checkCard(c); f != "" {
				return append(out, errElem(typ, "30000", "Invalid field", f)), types[i:], ""
			}
			e := s.accountCheck(site, o, c, parent)
			out = append(out, e)
			if e["errorcode"] != "0" {
				return out, types[i:], ""
			}
			parent = e["transactionreference"].(string)
		case "SUBSCRIPTION":
			e := s.subscribe(site, o, payload, parent)
			out = append(out, e)
			if e["errorcode"] != "0" {
				return out, types[i:], ""
			}
		default:
			return append(out, errElem(typ, "60018", "Invalid requesttype")), types[i:], ""
		}
	}
	return out, nil, parent
}

// auth decides an AUTH by the sandbox rules and test cards; s.mu is held.
func (s *Sim) auth(site *Site, o order, c card, parent, enrolled, status, eci string) elem {
	tx := Tx{Type: "AUTH", Site: site.Reference, OrderReference: o.ref, Parent: parent, BaseAmount: o.amount, Currency: o.currency,
		MaskedPAN: mask(c.pan), PaymentType: paymentType(c.pan), Enrolled: enrolled, Status: status,
		ErrorCode: "0", ErrorMessage: "Ok", SettleStatus: o.settle, SettleAmount: o.amount, CredentialsOnFile: o.cof}
	if o.cof == "1" {
		tx.pan = c.pan // stored for later merchant-initiated charges
	}
	cvvOK := c.cvv == "123" || c.cvv == "1234"
	switch {
	case o.amount%100 == 51, o.amount == 70000, declineCards[c.pan], !cvvOK:
		tx.ErrorCode, tx.ErrorMessage, tx.SettleStatus, tx.AuthCode = "70000", "Decline", "3", "DECLINED"
	case o.amount == 60010:
		tx.ErrorCode, tx.ErrorMessage, tx.SettleStatus = "60010", "Bank System Error", "3"
	default:
		tx.AuthCode = fmt.Sprintf("TEST%02d", (s.seq+1)%100)
	}
	t := s.newTx(tx)
	e := elem{}
	for k, v := range t.record() {
		e[k] = v
	}
	delete(e, "interface")
	delete(e, "settlebaseamount")
	e["customeroutput"] = "RESULT"
	e["acquirerresponsecode"] = "00"
	e["securityresponsesecuritycode"] = "2"
	e["tid"], e["merchantnumber"], e["merchantname"] = "27882788", "00000000", "Tender sandbox"
	e["authmethod"] = "FINAL"
	if eci != "" {
		e["eci"] = eci
	}
	if t.ErrorCode != "0" {
		e["acquirerresponsecode"] = "05"
		if !cvvOK {
			e["securityresponsesecuritycode"] = "4"
		}
	}
	return e
}

func (s *Sim) challengeFor(threedresponse, tdq string) *challenge {
	raw, err := base64.RawURLEncoding.DecodeString(threedresponse)
	if err != nil {
		return nil
	}
	var cres struct {
		ACSTransID string `json:"acsTransID"`
	}
	if json.Unmarshal(raw, &cres) != nil {
		return nil
	}
	ch := s.challenges[cres.ACSTransID]
	if ch == nil || ch.tdq != tdq {
		return nil
	}
	return ch
}

// serveChallenge is the stand-in ACS: the library posts the threedpayload
// and the code the cardholder typed; the answer is the threedresponse to
// send with the remaining request types.
func (s *Sim) serveChallenge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ThreeDPayload string `json:"threedpayload"`
		OTP           string `json:"otp"`
		Cancel        bool   `json:"cancel"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if json.Unmarshal(body, &req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(req.ThreeDPayload)
	var creq struct {
		ACSTransID string `json:"acsTransID"`
	}
	if err != nil || json.Unmarshal(raw, &creq) != nil {
		http.Error(w, "bad threedpayload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	ch := s.challenges[creq.ACSTransID]
	if ch != nil && !ch.done {
		ch.done = true
		ch.passed = !req.Cancel && !ch.failing && req.OTP == OTP
	}
	s.mu.Unlock()
	if ch == nil {
		http.Error(w, "unknown transaction", http.StatusNotFound)
		return
	}
	st := "N"
	if ch.passed {
		st = "Y"
	}
	cres, _ := json.Marshal(map[string]string{"messageType": "CRes", "messageVersion": "2.2.0", "acsTransID": ch.id, "transStatus": st})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"threedresponse": base64.RawURLEncoding.EncodeToString(cres), "transStatus": st})
}
