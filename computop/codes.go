package computop

import "strings"

// CodeOK is the only Code that means success (seed: "Only a result of
// code=00000000 should be considered successful").
const CodeOK = "00000000"

// Result Status values (notes §5.2: Wero uses OK | AUTHORIZE_REQUEST / FAILED).
const (
	StatusOK               = "OK"
	StatusAuthorizeRequest = "AUTHORIZE_REQUEST"
	StatusFailed           = "FAILED"
)

// CodeKind is the first digit of an A4 code (notes §5.1).
type CodeKind byte

// Code kinds.
const (
	KindOK        CodeKind = '0'
	KindError     CodeKind = '2'
	KindFatal     CodeKind = '4'
	KindPending   CodeKind = '6' // continue/transient: final status follows asynchronously
	KindInfo      CodeKind = '7' // EMV 3DS info; not used by Wero
	KindMalformed CodeKind = 0   // not an 8-character A4 code
)

// KindOf classifies an A4 code by its first digit.
func KindOf(code string) CodeKind {
	if len(code) != 8 {
		return KindMalformed
	}
	switch k := CodeKind(code[0]); k {
	case KindOK, KindError, KindFatal, KindPending, KindInfo:
		if k == KindOK && code != CodeOK {
			return KindError // "0" followed by anything but zeros is not success
		}
		return k
	}
	return KindMalformed
}

// A4 module digits (positions 2-4, notes §5.1).
const (
	ModuleCrypto    = "001"
	ModuleMissing   = "010"
	ModuleFormat    = "011"
	ModuleInvalid   = "012"
	ModuleTooShort  = "013"
	ModuleTooLong   = "014"
	ModuleEmpty     = "015"
	ModuleUnknown   = "016"
	ModuleDuplicate = "017"
	ModuleExpired   = "018"
)

// Module returns positions 2-4 of an A4 code, or "".
func Module(code string) string {
	if len(code) != 8 {
		return ""
	}
	return strings.ToUpper(code[1:4])
}
