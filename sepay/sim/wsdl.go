package sim

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/tenderpay/tender/sepay"
)

var opDocs = map[string]string{
	sepay.OpStart:  "Start a transaction.",
	sepay.OpStatus: "Retrieve the status of a transaction.",
	sepay.OpCancel: "Attempt to cancel an initialized transaction before it's picked up by the POS. After it's picked up, cancelling can only be done at the POS itself.",
}

var opOrder = []*sepay.Operation{sepay.StartTransaction, sepay.GetTransactionStatus, sepay.CancelTransaction}

// WSDL returns the reconstructed WSDL of the service (document/literal
// wrapped, as ASMX generates it; notes §9.1) with its SOAP 1.1 address.
func WSDL(address string) []byte {
	var b bytes.Buffer
	w := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
		b.WriteByte('\n')
	}
	w(`<?xml version="1.0" encoding="utf-8"?>`)
	w(`<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tm="http://microsoft.com/wsdl/mime/textMatching/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/" xmlns:tns="`, sepay.Namespace, `" xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" targetNamespace="`, sepay.Namespace, `" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">`)
	w(`  <wsdl:documentation xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">SEPAY Wireless ECR v2</wsdl:documentation>`)
	w(`  <wsdl:types>`)
	w(`    <s:schema elementFormDefault="qualified" targetNamespace="`, sepay.Namespace, `">`)
	for _, op := range opOrder {
		w(`      <s:element name="`, op.Name, `">`)
		w(`        <s:complexType>`)
		sequence(w, op.Request, "          ")
		w(`        </s:complexType>`)
		w(`      </s:element>`)
		w(`      <s:element name="`, op.Name, `Response">`)
		w(`        <s:complexType>`)
		w(`          <s:sequence>`)
		w(`            <s:element minOccurs="0" maxOccurs="1" name="`, op.Result.Element, `" type="tns:`, op.Result.Element, `" />`)
		w(`          </s:sequence>`)
		w(`        </s:complexType>`)
		w(`      </s:element>`)
		w(`      <s:complexType name="`, op.Result.Element, `">`)
		sequence(w, op.Result, "        ")
		w(`      </s:complexType>`)
	}
	w(`    </s:schema>`)
	w(`  </wsdl:types>`)
	for _, op := range opOrder {
		w(`  <wsdl:message name="`, op.Name, `SoapIn">`)
		w(`    <wsdl:part name="parameters" element="tns:`, op.Name, `" />`)
		w(`  </wsdl:message>`)
		w(`  <wsdl:message name="`, op.Name, `SoapOut">`)
		w(`    <wsdl:part name="parameters" element="tns:`, op.Name, `Response" />`)
		w(`  </wsdl:message>`)
	}
	w(`  <wsdl:portType name="WECRSoap">`)
	for _, op := range opOrder {
		w(`    <wsdl:operation name="`, op.Name, `">`)
		w(`      <wsdl:documentation xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">`, esc(opDocs[op.Name]), `</wsdl:documentation>`)
		w(`      <wsdl:input message="tns:`, op.Name, `SoapIn" />`)
		w(`      <wsdl:output message="tns:`, op.Name, `SoapOut" />`)
		w(`    </wsdl:operation>`)
	}
	w(`  </wsdl:portType>`)
	w(`  <wsdl:binding name="WECRSoap" type="tns:WECRSoap">`)
	w(`    <soap:binding transport="http://schemas.xmlsoap.org/soap/http" />`)
	for _, op := range opOrder {
		w(`    <wsdl:operation name="`, op.Name, `">`)
		w(`      <soap:operation soapAction="`, sepay.Namespace, `/`, op.Name, `" style="document" />`)
		w(`      <wsdl:input>`)
		w(`        <soap:body use="literal" />`)
		w(`      </wsdl:input>`)
		w(`      <wsdl:output>`)
		w(`        <soap:body use="literal" />`)
		w(`      </wsdl:output>`)
		w(`    </wsdl:operation>`)
	}
	w(`  </wsdl:binding>`)
	w(`  <wsdl:service name="WECR">`)
	w(`    <wsdl:documentation xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">SEPAY Wireless ECR v2</wsdl:documentation>`)
	w(`    <wsdl:port name="WECRSoap" binding="tns:WECRSoap">`)
	w(`      <soap:address location="`, esc(address), `" />`)
	w(`    </wsdl:port>`)
	w(`  </wsdl:service>`)
	w(`</wsdl:definitions>`)
	return b.Bytes()
}

// sequence writes a message's fields; strings minOccurs 0 and value types
// minOccurs 1, as ASMX does.
func sequence(w func(...string), s sepay.Schema, indent string) {
	w(indent, `<s:sequence>`)
	for _, f := range s.Fields {
		min := "0"
		switch f.Type {
		case sepay.TypeInt, sepay.TypeDecimal, sepay.TypeBoolean, sepay.TypeUShort:
			min = "1"
		}
		w(indent, `  <s:element minOccurs="`, min, `" maxOccurs="1" name="`, f.Name, `" type="s:`, f.Type, `" />`)
	}
	w(indent, `  <s:element minOccurs="0" maxOccurs="1" name="signature" type="s:`, s.SignatureType, `" />`)
	w(indent, `</s:sequence>`)
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Sim) serveWSDL(w http.ResponseWriter, r *http.Request) {
	addr := s.opts.BaseURL
	if addr == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		addr = scheme + "://" + r.Host
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(WSDL(strings.TrimRight(addr, "/") + ServicePath))
}
