package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// pki is a throwaway CA with a server and a client certificate.
type pki struct {
	caPEM                 []byte
	serverCert, serverKey string
	caFile                string
	clientCert            tls.Certificate
	pool                  *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fdxd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, usage x509.ExtKeyUsage, ip bool) ([]byte, []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	p := pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	sc, sk := issue("127.0.0.1", x509.ExtKeyUsageServerAuth, true)
	cc, ck := issue("aggregator", x509.ExtKeyUsageClientAuth, false)
	p.serverCert, p.serverKey, p.caFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem")
	for f, b := range map[string][]byte{p.serverCert: sc, p.serverKey: sk, p.caFile: p.caPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.clientCert, err = tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	return p
}

// startTLS runs a real server with TLS (and mutual TLS when clientCA is set).
func startTLS(t *testing.T, p pki, clientCA string) (issuer string) {
	issuer, _ = startTLSStore(t, p, clientCA)
	return issuer
}

func startTLSStore(t *testing.T, p pki, clientCA string) (issuer string, st *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(secret.NewKey())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer = "https://" + l.Addr().String()
	srv, err := server.New(t.Context(), server.Config{Issuer: issuer, Store: st, Sealer: sealer,
		TLSCertFile: p.serverCert, TLSKeyFile: p.serverKey, ClientCAFile: clientCA})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ctx, server.Listeners{Public: l}, 5*time.Second) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return issuer, st
}

func client(p pki, minV, maxV uint16, cert *tls.Certificate) *http.Client {
	c := &tls.Config{RootCAs: p.pool, MinVersion: minV, MaxVersion: maxV}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: c},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	issuer, st := startTLSStore(t, p, "")
	if err := st.CreateClient(t.Context(), store.Client{ID: "tls-client-1", SecretHash: "x", RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code"}}); err != nil {
		t.Fatal(err)
	}

	resp, err := client(p, tls.VersionTLS12, tls.VersionTLS12, nil).Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
	resp.Body.Close()
	if _, err := client(p, tls.VersionTLS10, tls.VersionTLS11, nil).Get(issuer + "/jwks"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}

	// Cookies are Secure on https.
	q := url.Values{"response_type": {"code"}, "client_id": {"tls-client-1"}, "redirect_uri": {"https://app.example/cb"}, "scope": {"openid"}}
	resp, err = client(p, tls.VersionTLS12, 0, nil).Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Header.Values("Set-Cookie")
	if len(cookies) == 0 {
		t.Fatal("no cookie set by /authorize")
	}
	for _, c := range cookies {
		if !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
			t.Fatalf("cookie on https lacks Secure, HttpOnly or SameSite=Lax: %q", c)
		}
	}
}

func TestMutualTLSOnBackChannel(t *testing.T) {
	p := newPKI(t)
	issuer := startTLS(t, p, p.caFile)
	anonymous := client(p, tls.VersionTLS12, 0, nil)
	withCert := client(p, tls.VersionTLS12, 0, &p.clientCert)

	// The browser-facing endpoints need no certificate.
	resp, err := anonymous.Get(issuer + "/.well-known/openid-configuration")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("discovery without a client certificate: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, path := range []string{"/token", "/revoke", "/introspect"} {
		body := func(c *http.Client) (int, string) {
			resp, err := c.PostForm(issuer+path, url.Values{"grant_type": {"refresh_token"}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if st, b := body(anonymous); st != 401 || !strings.Contains(b, "mutual TLS") {
			t.Fatalf("%s without a client certificate: %d %s; want 401 naming mutual TLS", path, st, b)
		}
		// Past mutual TLS the OAuth layer answers: no client authentication.
		if st, b := body(withCert); st != 401 || !strings.Contains(b, "client authentication is required") {
			t.Fatalf("%s with a certificate: %d %s", path, st, b)
		}
	}
	// A certificate from another CA is refused in the handshake.
	other := newPKI(t)
	stranger := client(p, tls.VersionTLS12, 0, &other.clientCert)
	if _, err := stranger.PostForm(issuer+"/token", url.Values{}); err == nil {
		t.Fatal("a client certificate from an unknown CA was accepted")
	}
}
