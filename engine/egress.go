package engine

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	t.Proxy = nil // a proxy would dial on our behalf, past the check
	return &http.Client{Transport: t}
}

// refusePrivate is a net.Dialer Control: it refuses loopback, private,
// link-local, unspecified, multicast and carrier-grade NAT addresses.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook address %q: %w", address, err)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("webhook address %s is not public (set --webhook-private-networks to allow it)", ap.Addr())
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddr reports whether a is an address on the public internet.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() &&
		!a.IsInterfaceLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified() && !cgnat.Contains(a)
}
