package pgtest

import (
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections from a loopback port to a PostgreSQL
// server and plays its faults: Cut closes the listener (new connections are
// refused) and every open connection, as a stopped server or a broken
// network does; Stall drops the open connections and then accepts new ones
// without ever forwarding a byte, as a hung server does; Freeze keeps every
// connection open but holds every byte until Thaw, as a network partition
// does (nothing is refused, nothing answers); Restore forwards again on the
// same port. It stops with the test.
type Proxy struct {
	t      testing.TB
	target string
	addr   string

	mu      sync.Mutex // guards ln, stalled, conns, thawed
	ln      net.Listener
	stalled bool
	conns   map[net.Conn]bool
	// thawed is closed while bytes flow; Freeze replaces it with an open
	// channel that Thaw closes.
	thawed chan struct{}
	wg     sync.WaitGroup

	accepted atomic.Int64
}

// StartProxy starts a proxy to target (HOST:PORT) on a free 127.0.0.1 port.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, target: target, conns: map[net.Conn]bool{}, thawed: make(chan struct{})}
	close(p.thawed)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: proxy listen: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// ProxyFor starts a proxy to the server of the database at dbURL and
// returns it with dbURL rewritten to connect through it.
func ProxyFor(t testing.TB, dbURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("pgtest: parse database URL: %v", err)
	}
	p := StartProxy(t, u.Host)
	return p, p.Via(dbURL)
}

// Addr is the proxy's HOST:PORT.
func (p *Proxy) Addr() string { return p.addr }

// Accepted counts the connections the proxy has accepted so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Via rewrites a database URL to connect through the proxy.
func (p *Proxy) Via(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		p.t.Fatalf("pgtest: parse database URL: %v", err)
	}
	u.Host = p.addr
	return u.String()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return // closed by Cut
			}
			p.accepted.Add(1)
			p.mu.Lock()
			if p.ln != ln {
				// Cut closed this listener after Accept returned.
				p.mu.Unlock()
				client.Close()
				return
			}
			stalled := p.stalled
			p.conns[client] = true
			p.mu.Unlock()
			if stalled {
				continue // held open, silent, until Cut
			}
			p.wg.Go(func() { p.forward(client) })
		}
	})
}

func (p *Proxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		p.mu.Lock()
		delete(p.conns, client)
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	if !p.conns[client] {
		// Cut while dialling.
		p.mu.Unlock()
		server.Close()
		return
	}
	p.conns[server] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.waitThawed()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// Cut refuses new connections and drops every open one (and ends a Freeze:
// there is nothing left to hold).
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Stall drops every open connection, then accepts new ones without ever
// answering: a server that hangs rather than refuses.
func (p *Proxy) Stall() {
	p.Cut()
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
	p.listen()
}

// Freeze holds every byte in both directions, on open and new connections
// alike, until Thaw: the connections neither fail nor answer.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default: // frozen already
	}
}

// Thaw delivers what Freeze held and forwards again.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

func (p *Proxy) waitThawed() {
	p.mu.Lock()
	thawed := p.thawed
	p.mu.Unlock()
	<-thawed
}

// Restore forwards again, on the same port.
func (p *Proxy) Restore() {
	p.Cut()
	p.mu.Lock()
	p.stalled = false
	p.mu.Unlock()
	p.listen()
}

func (p *Proxy) listen() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("pgtest: proxy listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
