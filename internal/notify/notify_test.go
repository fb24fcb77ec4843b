package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/fdxd/fdxd/internal/notify"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

var t0 = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// issue stores an open issue and returns its opened event.
func issue(t *testing.T, st store.IssueStore) observe.IssueEvent {
	t.Helper()
	iss := store.Issue{ID: "iss_test1", Key: "error_rate:route:token", Kind: store.IssueErrorRate, Route: "token",
		Error: "invalid_grant", Summary: "token: 30.0% of 100 requests failed within 5m0s (mostly invalid_grant)",
		FirstSeen: t0, LastSeen: t0.Add(time.Minute), Failures: 30, Requests: 100, Rate: 0.3, PeakRate: 0.3, UpdatedAt: t0}
	if _, _, err := st.OpenIssue(t.Context(), iss); err != nil {
		t.Fatal(err)
	}
	return observe.IssueEvent{Event: observe.EventIssueOpened, Issue: iss}
}

// waits records the backoff asked for and never waits.
type waits struct {
	mu   sync.Mutex
	list []time.Duration
}

func (w *waits) after(d time.Duration) <-chan time.Time {
	w.mu.Lock()
	w.list = append(w.list, d)
	w.mu.Unlock()
	c := make(chan time.Time, 1)
	c <- t0
	return c
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.list...)
}

// run starts n and stops it with the test.
func run(t *testing.T, n *notify.Notifier) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitDeliveries polls the store until the issue's deliveries are done.
func waitDeliveries(t *testing.T, st store.DeliveryStore, n int) []store.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := st.ListDeliveries(t.Context(), store.DeliveryQuery{IssueID: "iss_test1"})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, d := range ds {
			if d.Status != store.DeliveryPending {
				done++
			}
		}
		if len(ds) == n && done == n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries did not finish: %+v", ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const webhookSecret = "whsec-0123456789abcdef-test"

func TestWebhookSignedRetriedDelivered(t *testing.T) {
	st := openStore(t)
	var (
		mu       sync.Mutex
		attempts int
		bodies   [][]byte
		failures []string
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		attempts++
		ts, sig := r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature)
		if !notify.Verify([]byte(webhookSecret), ts, body, sig) {
			failures = append(failures, "bad signature "+sig)
		}
		if notify.Verify([]byte("another-secret-0123456789"), ts, body, sig) {
			failures = append(failures, "a signature that verifies under another secret")
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get(notify.HeaderEvent) != "issue.opened" ||
			!strings.HasPrefix(r.Header.Get(notify.HeaderDelivery), "dlv_") {
			failures = append(failures, "headers "+r.Header.Get("Content-Type")+" "+r.Header.Get(notify.HeaderEvent))
		}
		bodies = append(bodies, body)
		if attempts < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	w := &waits{}
	n, err := notify.New(notify.Config{Store: st, Webhook: &notify.WebhookConfig{URL: receiver.URL + "/hooks/fdxd-secret-path",
		Secret: []byte(webhookSecret)}, AdminURL: "http://127.0.0.1:9090", Backoff: []time.Duration{time.Second, 7 * time.Second, time.Minute},
		After: w.after, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	n.Notify(issue(t, st))
	ds := waitDeliveries(t, st, 1)
	d := ds[0]
	if d.Status != store.DeliveryDelivered || d.Attempts != 3 || d.Channel != "webhook" || d.LastError == "" {
		t.Fatalf("delivery = %+v; want delivered on the third attempt, the 503 kept as last error", d)
	}
	if strings.Contains(d.Target, "secret-path") {
		t.Fatalf("target %q shows the URL's path, which may be its credential", d.Target)
	}
	if got := w.get(); len(got) != 2 || got[0] != time.Second || got[1] != 7*time.Second {
		t.Fatalf("backoff waits %v; want [1s 7s]", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	if !bytes.Equal(bodies[0], bodies[2]) {
		t.Fatal("a retry sent a different body")
	}
	var body struct {
		Event string              `json:"event"`
		Issue observe.BundleIssue `json:"issue"`
		URL   string              `json:"url"`
	}
	if err := json.Unmarshal(bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	if body.Event != "issue.opened" || body.Issue.ID != "iss_test1" || body.Issue.Failures != 30 ||
		body.URL != "http://127.0.0.1:9090/issues/iss_test1" {
		t.Fatalf("webhook body = %s", bodies[0])
	}
	if n.Delivered() != 1 {
		t.Fatalf("Delivered = %d", n.Delivered())
	}
}

func TestWebhookPermanentFailureAndUnreachable(t *testing.T) {
	st := openStore(t)
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer refuse.Close()
	w := &waits{}
	n, err := notify.New(notify.Config{Store: st, Webhook: &notify.WebhookConfig{URL: refuse.URL, Secret: []byte(webhookSecret)},
		After: w.after})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	n.Notify(issue(t, st))
	d := waitDeliveries(t, st, 1)[0]
	if d.Status != store.DeliveryFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "404") {
		t.Fatalf("delivery = %+v; want failed at once on a 404", d)
	}

	// A receiver that is not there: retried, then given up; Notify itself
	// never waits for it.
	st2 := openStore(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	w2 := &waits{}
	n2, err := notify.New(notify.Config{Store: st2, Webhook: &notify.WebhookConfig{URL: dead, Secret: []byte(webhookSecret)},
		After: w2.after, Backoff: []time.Duration{time.Second, time.Second}, QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	ev := issue(t, st2)
	start := time.Now()
	for range 1000 {
		n2.Notify(ev) // not running yet: the queue fills, the rest are dropped
	}
	if time.Since(start) > time.Second || n2.Dropped() != 998 {
		t.Fatalf("1000 notifications took %v and dropped %d; want no waiting and 998 dropped", time.Since(start), n2.Dropped())
	}
	run(t, n2)
	ds := waitDeliveries(t, st2, 2)
	for _, d := range ds {
		if d.Status != store.DeliveryFailed || d.Attempts != 3 || !strings.Contains(d.LastError, "connect") {
			t.Fatalf("delivery = %+v; want failed after 3 attempts to connect", d)
		}
	}
}

func TestWebhookConfigRefused(t *testing.T) {
	for _, c := range []notify.WebhookConfig{
		{URL: "ftp://example.test/", Secret: []byte(webhookSecret)},
		{URL: "/relative", Secret: []byte(webhookSecret)},
		{URL: "https://example.test/", Secret: []byte("short")},
	} {
		if _, err := notify.New(notify.Config{Store: openStore(t), Webhook: &c}); err == nil {
			t.Errorf("webhook %q with a %d-byte secret accepted", c.URL, len(c.Secret))
		}
	}
}

// smtpServer is a real SMTP server on loopback offering STARTTLS and AUTH
// PLAIN (only over TLS), keeping the messages it accepts.
type smtpServer struct {
	addr     string
	roots    *x509.CertPool
	mu       sync.Mutex
	messages []smtpMessage
}

type smtpMessage struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	msg  smtpMessage
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "fdxd" || password != "smtp-pass-Zx9" {
			return errors.New("bad credentials")
		}
		s.msg.user = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.msg.user == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.msg.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.msg.tls = s.conn.TLSConnectionState()
	s.msg.data = b
	s.srv.mu.Lock()
	s.srv.messages = append(s.srv.messages, s.msg)
	s.srv.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.msg = smtpMessage{user: s.msg.user} }
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T, withTLS bool) *smtpServer {
	t.Helper()
	srv := &smtpServer{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: srv, conn: c}, nil })
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		cert, roots := selfSigned(t)
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.roots = roots
	} else {
		s.AllowInsecureAuth = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return srv
}

func (s *smtpServer) received() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.messages...)
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func emailConfig(srv *smtpServer) *notify.EmailConfig {
	host, port, _ := net.SplitHostPort(srv.addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return &notify.EmailConfig{Host: host, Port: p, From: "fdxd <fdxd@bank.example>", To: []string{"ops@bank.example", "oncall@bank.example"},
		Username: "fdxd", Password: "smtp-pass-Zx9", TLSConfig: &tls.Config{RootCAs: srv.roots}}
}

func TestEmailOverSTARTTLS(t *testing.T) {
	st := openStore(t)
	srv := startSMTP(t, true)
	n, err := notify.New(notify.Config{Store: st, Email: emailConfig(srv), AdminURL: "https://admin.bank.example",
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	ev := issue(t, st)
	n.Notify(ev)
	resolved := ev
	resolved.Event, resolved.Issue.ResolvedAt = observe.EventIssueResolved, t0.Add(time.Hour)
	n.Notify(resolved)
	ds := waitDeliveries(t, st, 2)
	for _, d := range ds {
		if d.Status != store.DeliveryDelivered || d.Channel != "email" || !strings.Contains(d.Target, "ops@bank.example") {
			t.Fatalf("delivery = %+v; want delivered by email", d)
		}
	}
	msgs := srv.received()
	if len(msgs) != 2 {
		t.Fatalf("the SMTP server received %d messages; want 2", len(msgs))
	}
	var subjects []string
	for _, m := range msgs {
		if !m.tls || m.user != "fdxd" || m.from != "fdxd@bank.example" || len(m.to) != 2 {
			t.Fatalf("message over TLS %v, as %q, from %q to %v", m.tls, m.user, m.from, m.to)
		}
		parsed, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, subject)
		body, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"iss_test1", "invalid_grant", "30 of 100 requests", "https://admin.bank.example/issues/iss_test1"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("email body lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(string(m.data), "smtp-pass-Zx9") {
			t.Error("the SMTP password is in the message")
		}
	}
	// Deliveries run concurrently: the two may arrive in either order.
	slices.Sort(subjects)
	if !strings.HasPrefix(subjects[0], "[fdxd] Issue opened: token: 30.0%") || !strings.HasPrefix(subjects[1], "[fdxd] Issue resolved:") {
		t.Fatalf("subjects %q", subjects)
	}
}

func TestEmailRefusesWithoutSTARTTLS(t *testing.T) {
	st := openStore(t)
	srv := startSMTP(t, false)
	n, err := notify.New(notify.Config{Store: st, Email: emailConfig(srv)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n)
	n.Notify(issue(t, st))
	d := waitDeliveries(t, st, 1)[0]
	if d.Status != store.DeliveryFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "STARTTLS") {
		t.Fatalf("delivery = %+v; want a failure naming STARTTLS, not retried", d)
	}
	if len(srv.received()) != 0 {
		t.Fatal("a message went out without TLS")
	}
}

func TestEmailConfigRefused(t *testing.T) {
	for _, c := range []notify.EmailConfig{
		{Port: 587, From: "a@b.example", To: []string{"c@d.example"}},
		{Host: "smtp.example", From: "not an address", To: []string{"c@d.example"}},
		{Host: "smtp.example", From: "a@b.example"},
		{Host: "smtp.example", From: "a@b.example", To: []string{"c@d.example"}, Username: "u"},
	} {
		if _, err := notify.New(notify.Config{Store: openStore(t), Email: &c}); err == nil {
			t.Errorf("email config %+v accepted", c)
		}
	}
}

// TestPendingDeliveryResumedOnce: two processes start over a store holding
// a pending delivery left by a crash; exactly one of them sends it, on
// its schedule.
func TestPendingDeliveryResumedOnce(t *testing.T) {
	st := openStore(t)
	ev := issue(t, st)
	var (
		mu  sync.Mutex
		got int
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
	}))
	defer receiver.Close()
	last := t0.Add(-time.Hour)
	if err := st.CreateDelivery(t.Context(), store.Delivery{ID: "dlv_left", IssueID: ev.Issue.ID, Event: ev.Event,
		Channel: notify.ChannelWebhook, Target: receiver.URL, Status: store.DeliveryPending, Attempts: 1,
		LastError: "answered 503", Payload: []byte(`{"event":"issue.opened"}`), CreatedAt: last, UpdatedAt: last}); err != nil {
		t.Fatal(err)
	}
	w := &waits{}
	for range 2 {
		n, err := notify.New(notify.Config{Store: st, Webhook: &notify.WebhookConfig{URL: receiver.URL, Secret: []byte(webhookSecret)},
			After: w.after, Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		run(t, n)
	}
	d := waitDeliveries(t, st, 1)[0]
	if d.Status != store.DeliveryDelivered || d.Attempts != 2 {
		t.Fatalf("delivery = %+v; want delivered on its second attempt", d)
	}
	time.Sleep(100 * time.Millisecond) // let a second sender, were there one, reach the receiver
	mu.Lock()
	defer mu.Unlock()
	if got != 1 {
		t.Fatalf("the receiver got %d requests; want exactly 1", got)
	}
	// The retry was due an hour ago: whoever sent it did not wait; a process
	// that came second waits out the sender's lease, then finds it done.
	for _, d := range w.get() {
		if d < time.Minute {
			t.Fatalf("waited %v; want no wait, or a whole lease", w.get())
		}
	}
}
