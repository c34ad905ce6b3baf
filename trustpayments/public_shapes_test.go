package trustpayments

import (
	"encoding/json"
	"maps"
)

// Response JWTs in the public shapes the protocol notes describe
// (shared/protocols/trustpayments.md §1.3, §4.2, §4.3, §7, §12, §15.7).
// Every token here is built and signed by this file: no published token is
// copied. The claim structure follows the notes; where the notes name a
// shape but not its values, the values are our construction and say so.

// legacySecret is the placeholder secret the notes (§0.1, §1.3) say the
// legacy JS v2 "Handling the response" example is signed with.
const legacySecret = "secret"

// notPublicSecret stands for a secret nobody outside the account knows: the
// 2019 ERROR shapes carry a nested JWT that does not verify with any public
// placeholder (notes §1.3, "captured from the real sandbox with unknown
// secrets").
const notPublicSecret = "tender-test: not the account's secret"

// responseClaims are a gateway response JWT's claims in the order the
// gateway writes them (notes §1.2, §4.2, §11.2): iat, payload, then aud,
// which is absent before about 2020 (§4.2).
type responseClaims struct {
	Iat     int64           `json:"iat"`
	Payload responsePayload `json:"payload"`
	Aud     string          `json:"aud,omitempty"`
}

type responsePayload struct {
	RequestReference string              `json:"requestreference"`
	Version          string              `json:"version"`
	JWT              string              `json:"jwt,omitempty"`
	Response         []map[string]string `json:"response"`
	Secrand          string              `json:"secrand"`
}

// mustSign signs claims (marshalled as JSON) for a package-level shape.
func mustSign(alg, secret string, claims any) string {
	b, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	s, err := Sign(alg, []byte(secret), b)
	if err != nil {
		panic(err)
	}
	return s
}

// authElement is an approved AUTH element with the field set of the seed
// response (notes §1.2, TV-2; all values strings, §0.5), in GBP 10.00;
// over replaces or adds fields, and a value of "" removes one.
func authElement(over map[string]string) map[string]string {
	e := map[string]string{
		"transactionstartedtimestamp": "2020-07-13 13:34:28", "livestatus": "0",
		"merchantname": "Merchant name", "splitfinalnumber": "1", "dccenabled": "0",
		"settleduedate": "2020-07-13", "errorcode": "0", "merchantnumber": "00000000",
		"merchantcountryiso2a": "GB", "status": "Y", "transactionreference": "1-2-345679",
		"threedversion": "2.1.0", "paymenttypedescription": "VISA", "baseamount": "1000",
		"eci": "05", "accounttypedescription": "ECOM", "tid": "27882788",
		"acquirerresponsecode": "00", "requesttypedescription": "AUTH",
		"securityresponsesecuritycode": "2", "currencyiso3a": "GBP", "authcode": "TEST95",
		"errormessage": "Ok", "issuercountryiso2a": "ZZ", "maskedpan": "411111######1111",
		"securityresponsepostcode": "0", "enrolled": "Y", "securityresponseaddress": "0",
		"operatorname": "jwt.user", "settlestatus": "0",
	}
	maps.Copy(e, over)
	maps.DeleteFunc(e, func(_, v string) bool { return v == "" })
	return e
}

// Times (iat) of the shapes, in the era each belongs to (notes §4.2: no aud
// in 2019, aud from about 2020). The values are our choice.
var (
	legacyV2Iat        int64 = 1561549000 // 2019-06
	errorShapeIat      int64 = 1561109500 // 2019-06
	appleAuthIat       int64 = 1606203400 // 2020-11
	merchantDeclineIat int64 = 1605603400 // 2020-11
)

// legacyV2Reference is the transactionreference of the legacy v2 shape's
// AUTH element (our value, in the "<a>-<b>-<seq>" format of notes §11).
const legacyV2Reference = "42-9-10001"

// buildLegacyV2 is the shape of the legacy "JavaScript library v2 /
// Handling the response" example (notes §1.3, §0.1): signed with "secret",
// no aud, no nested JWT, one approved AUTH element (settlestatus 0) that
// names no orderreference. The element's values are our construction. Its
// payload segment needs base64 padding (len%4 != 0), which TestPaddedSegments
// relies on; the secrand's length (notes §4.2: 1–14 characters) is chosen so.
func buildLegacyV2() string {
	return mustSign(HS256, legacySecret, responseClaims{
		Iat: legacyV2Iat,
		Payload: responsePayload{
			RequestReference: "W42-lg2v2a0b", Version: WSVersion,
			Response: []map[string]string{authElement(map[string]string{
				"transactionstartedtimestamp": "2019-06-26 11:36:40", "settleduedate": "2019-06-26",
				"transactionreference": legacyV2Reference, "parenttransactionreference": "42-9-10000",
				"threedversion": "1.0.2", "merchantname": "Tender test site",
				"issuer": "SecureTrading Test Issuer1", "authcode": "TEST01",
				"operatorname": "operator", "cavv": "Y2FyZGluYWxjb21tZXJjZWF1dGg=",
			})},
			Secrand: "tenderv2x",
		},
	})
}

// buildAppleAuth is the shape of the v3 Apple Pay AUTH fixture (notes §12:
// "Apple/Google Pay"; §4.2; §4.3 "flow complete"): aud = the JWT user, an
// approved AUTH (settlestatus 0, walletsource APPLEPAY, customeroutput
// RESULT), and a nested JWT re-issued by the gateway with
// parenttransactionreference = the AUTH reference and no request types
// left, that carries the money fields but neither termurl nor
// orderreference (notes §4.3; no public nested JWT carries termurl). Outer
// and nested are signed with seedSecret, as the notes say 73 of the v3
// fixtures are (§1.3). Values are our construction; aud is a parameter so
// a test can present a foreign one.
func buildAppleAuth(aud string) string {
	nested := mustSign(HS256, seedSecret, map[string]any{
		"iss": "tender_v3", "iat": appleAuthIat,
		"payload": map[string]any{
			"currencyiso3a": "GBP", "locale": "en_GB", "baseamount": "1000",
			"sitereference": "test_site12345", "accounttypedescription": "ECOM",
			"parenttransactionreference": "55-9-20001", "requesttypedescriptions": []string{},
		},
	})
	return mustSign(HS256, seedSecret, responseClaims{
		Iat: appleAuthIat,
		Payload: responsePayload{
			RequestReference: "W55-ap1pay0k", Version: WSVersion, JWT: nested,
			Response: []map[string]string{authElement(map[string]string{
				"transactionstartedtimestamp": "2020-11-24 07:36:40", "settleduedate": "2020-11-24",
				"walletsource": "APPLEPAY", "tokentype": "APPLEPAY", "tokenisedpayment": "1",
				"walletdisplayname": "Visa 1111", "customeroutput": "RESULT",
				"transactionreference": "55-9-20001", "eci": "07", "status": "", "enrolled": "",
				"threedversion": "", "issuercountryiso2a": "", "operatorname": "tender_v3",
			})},
			Secrand: "tenderapple",
		},
		Aud: aud,
	})
}

// buildMerchantDecline is the shape of the v3 "Merchant decline" fixture
// (notes §7 and §15.7: errorcode 70001, which the fixture calls "Merchant
// decline" and the SDKs' list "Uncertain result"): aud = the JWT user, one
// AUTH element with errorcode 70001, settlestatus 3 (as for a decline,
// §7/§8), customeroutput TRYAGAIN (§4.4), and a nested JWT signed with
// seedSecret whose request types still hold AUTH (the client keeps the
// original JWT after an error, §4.3). Values are our construction.
func buildMerchantDecline() string {
	nested := mustSign(HS256, seedSecret, map[string]any{
		"iss": "tender_jwt", "iat": merchantDeclineIat,
		"payload": map[string]any{
			"currencyiso3a": "GBP", "locale": "en_GB", "baseamount": "1000",
			"sitereference": "test_site12345", "accounttypedescription": "ECOM",
			"parenttransactionreference": "42-9-30001", "requesttypedescriptions": []string{"AUTH"},
		},
	})
	return mustSign(HS256, seedSecret, responseClaims{
		Iat: merchantDeclineIat,
		Payload: responsePayload{
			RequestReference: "W42-md70001x", Version: WSVersion, JWT: nested,
			Response: []map[string]string{authElement(map[string]string{
				"transactionstartedtimestamp": "2020-11-17 08:56:40", "settleduedate": "2020-11-17",
				"parenttransactionreference": "42-9-30001", "transactionreference": "42-9-30002",
				"customeroutput": "TRYAGAIN", "errorcode": "70001", "errormessage": "Merchant decline",
				"acquirerresponsecode": "05", "authcode": "DECLINED", "settlestatus": "3",
				"operatorname": "tender_jwt",
			})},
			Secrand: "tenderdecl",
		},
		Aud: "tender_jwt",
	})
}

// JWT user names of the shapes are ours ("tender_v3", "tender_jwt",
// "tender_2019"); the notes name none. errorShapeUser is the one of the
// 2019 ERROR shapes' nested JWT.
const errorShapeUser = "tender_2019"

// buildErrorShape is the shape of the 2019 v3 "socket error" and "unknown
// error" fixtures (notes §4.2: no aud in 2019; §6.3 and §7: one element
// {errorcode, requesttypedescription ERROR, transactionstartedtimestamp,
// errormessage}; §12): outer signed with seedSecret, no aud, and a nested
// JWT with a fractional iat (notes §3.2) signed with a secret that is not
// public (§1.3). Values are our construction.
func buildErrorShape(code, message string) string {
	nested := mustSign(HS256, notPublicSecret, map[string]any{
		"iss": errorShapeUser, "iat": 1561109400.25,
		"payload": map[string]any{
			"baseamount": "1000", "accounttypedescription": "ECOM", "currencyiso3a": "GBP",
			"sitereference": "test_site12345", "locale": "en_GB",
		},
	})
	return mustSign(HS256, seedSecret, responseClaims{
		Iat: errorShapeIat,
		Payload: responsePayload{
			RequestReference: "W23-err0r5x1", Version: WSVersion, JWT: nested,
			Response: []map[string]string{{
				"errorcode": code, "requesttypedescription": "ERROR",
				"transactionstartedtimestamp": "2019-06-21 09:31:40", "errormessage": message,
			}},
			Secrand: "tendererr",
		},
	})
}

// The shapes, built once.
var (
	legacyV2          = buildLegacyV2()
	shapeAppleAuth    = buildAppleAuth("tender_v3")
	shapeMerchantDecl = buildMerchantDecline()
	shapeSocketError  = buildErrorShape("50000", "Socket receive error")
	shapeUnknownError = buildErrorShape("99999", "Unknown error")
)

// PublicShapes gives the external tests the shapes by name.
var PublicShapes = map[string]string{
	"legacyV2": legacyV2, "appleAuth": shapeAppleAuth, "merchantDecline": shapeMerchantDecl,
	"socketError": shapeSocketError, "unknownError": shapeUnknownError,
}
