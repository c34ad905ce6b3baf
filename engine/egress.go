package engine

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PublicOnlyClient returns an HTTP client that connects only to public
// addresses. Webhook URLs are chosen by whoever holds an API key; without
// this a URL could make Tender reach into its own network (a database
// admin page, a cloud metadata service). The check runs on the address
// actually dialled, after DNS, so a name that resolves to a private address
// is refused too.
func PublicOnlyClient() *http.Client {
	return &http.Client{Transport: PublicOnlyTransport("webhook", "set --webhook-private-networks to allow it")}
}

// PublicOnlyTransport is the transport of PublicOnlyClient, for other
// traffic whose destination an API user chooses: provider endpoints are
// account settings (webservices_url, base_url, ...), so outside sandbox
// mode provider calls use it too. what names the traffic in errors and
// hint says how to allow a private address, if at all.
func PublicOnlyTransport(what, hint string) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate(what, hint)}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	t.Proxy = nil // a proxy would dial on our behalf, past the check
	return t
}

// refusePrivate returns a net.Dialer Control that refuses loopback,
// private, link-local, unspecified, multicast and carrier-grade NAT
// addresses.
func refusePrivate(what, hint string) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%s address %q: %w", what, address, err)
		}
		if !PublicAddr(ap.Addr()) {
			if hint != "" {
				return fmt.Errorf("%s address %s is not public (%s)", what, ap.Addr(), hint)
			}
			return fmt.Errorf("%s address %s is not public", what, ap.Addr())
		}
		return nil
	}
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddr reports whether a is an address on the public internet.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() &&
		!a.IsInterfaceLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified() && !cgnat.Contains(a)
}

// literalAddr parses host as an IP address literal in any form a resolver
// may accept: IPv6 (with or without a zone), dotted IPv4, and the inet_aton
// forms with fewer parts ("127.1"), hexadecimal ("0x7f000001") or octal
// ("0177.0.0.1") numbers.
func literalAddr(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone(""), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil || p == "" && base != 8 {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	// Every part but the last is one byte; the last fills the rest.
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}
