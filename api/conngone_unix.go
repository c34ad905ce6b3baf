//go:build unix

package api

import (
	"net"
	"syscall"
)

// connGone reports whether the client of a parked connection has hung up:
// a peek that does not wait finds the end of the stream (or an error);
// data or nothing yet means it is there.
func connGone(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		case err != nil || n == 0:
			gone = true
		}
		return true // never wait for the connection to become readable
	})
	return gone || err != nil
}
