package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// EmailConfig is the SMTP server and the addresses of issue emails.
type EmailConfig struct {
	Host string
	// Port defaults to 587 (submission).
	Port int
	From string
	To   []string
	// Username and Password, when set, authenticate with AUTH PLAIN (only
	// ever over TLS).
	Username string
	Password string
	// AllowPlaintext sends without STARTTLS when the server does not offer
	// it (a relay on the same host); by default STARTTLS is required.
	AllowPlaintext bool
	// TLSConfig, when set, is used for STARTTLS (custom roots); its
	// ServerName defaults to Host.
	TLSConfig *tls.Config
	// HelloName is the EHLO name (default "localhost").
	HelloName string
	// Timeout bounds one attempt, connection to QUIT (default 30 s).
	Timeout time.Duration
}

type emailSender struct {
	cfg    EmailConfig
	addr   string
	target string
}

func newEmailSender(cfg EmailConfig) (*emailSender, error) {
	var errs []error
	if cfg.Host == "" {
		errs = append(errs, errors.New("notify: SMTP host is missing"))
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("notify: SMTP port %d is out of range", cfg.Port))
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("notify: SMTP from address %q: %w", cfg.From, err))
	}
	if len(cfg.To) == 0 {
		errs = append(errs, errors.New("notify: no SMTP recipient"))
	}
	for _, to := range cfg.To {
		if _, err := mail.ParseAddress(to); err != nil {
			errs = append(errs, fmt.Errorf("notify: SMTP recipient %q: %w", to, err))
		}
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("notify: SMTP username and password (FDXD_SMTP_PASSWORD) go together"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	return &emailSender{cfg: cfg, addr: addr, target: strings.Join(cfg.To, ", ") + " via " + addr}, nil
}

// message is the whole RFC 5322 message of ev, CRLF line endings, body in
// quoted-printable UTF-8.
func (e *emailSender) message(deliveryID string, ev observe.IssueEvent, issueURL string, now time.Time) []byte {
	iss := ev.Issue
	verb := "opened"
	if ev.Event == observe.EventIssueResolved {
		verb = "resolved"
	}
	subject := oneLine(fmt.Sprintf("[fdxd] Issue %s: %s", verb, iss.Summary), 200)
	var body strings.Builder
	fmt.Fprintf(&body, "Issue %s: %s\n\n", verb, iss.Summary)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&body, "%-12s %s\n", k+":", v)
		}
	}
	row("Issue", iss.ID)
	row("Kind", string(iss.Kind))
	row("Endpoint", iss.Route)
	row("Client", iss.ClientID)
	row("Error", iss.Error)
	row("First seen", iss.FirstSeen.UTC().Format(time.RFC3339))
	row("Last seen", iss.LastSeen.UTC().Format(time.RFC3339))
	if !iss.ResolvedAt.IsZero() {
		row("Resolved", iss.ResolvedAt.UTC().Format(time.RFC3339))
	}
	if iss.Requests > 0 {
		row("Failures", fmt.Sprintf("%d of %d requests (%.1f %%; peak %.1f %%)", iss.Failures, iss.Requests,
			100*iss.Rate, 100*iss.PeakRate))
	}
	row("Open it", issueURL)
	body.WriteString("\n-- \nfdxd issue center\n")

	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	w.Write([]byte(strings.ReplaceAll(body.String(), "\n", "\r\n")))
	w.Close()

	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("From", e.cfg.From)
	header("To", strings.Join(e.cfg.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+deliveryID+"@fdxd>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("X-Fdxd-Issue", iss.ID)
	header("X-Fdxd-Event", ev.Event)
	msg.WriteString("\r\n")
	msg.Write(qp.Bytes())
	return msg.Bytes()
}

// oneLine keeps a header value on one line (no header injection) and short.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func (e *emailSender) send(ctx context.Context, d store.Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		conn.Close()
		return smtpError(e.addr, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.cfg.HelloName); err != nil {
		return smtpError(e.addr, "EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.cfg.TLSConfig != nil {
			tc = e.cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = e.cfg.Host
		}
		if err := c.StartTLS(tc); err != nil {
			return smtpError(e.addr, "STARTTLS", err)
		}
	} else if !e.cfg.AllowPlaintext {
		return permanentError{fmt.Errorf("smtp %s: the server does not offer STARTTLS, which is required", e.addr)}
	}
	if e.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, e.cfg.Host)); err != nil {
			return smtpError(e.addr, "AUTH", err)
		}
	}
	if err := c.Mail(mustAddress(e.cfg.From)); err != nil {
		return smtpError(e.addr, "MAIL FROM", err)
	}
	for _, to := range e.cfg.To {
		if err := c.Rcpt(mustAddress(to)); err != nil {
			return smtpError(e.addr, "RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(e.addr, "DATA", err)
	}
	if _, err := w.Write(d.Payload); err != nil {
		return smtpError(e.addr, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError(e.addr, "DATA", err)
	}
	if err := c.Quit(); err != nil {
		return smtpError(e.addr, "QUIT", err)
	}
	return nil
}

// mustAddress is the bare address of a checked "Name <addr>" string.
func mustAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s // checked in newEmailSender
	}
	return a.Address
}

// smtpError wraps err; a 5xx reply is permanent, anything else retried.
func smtpError(addr, step string, err error) error {
	err = fmt.Errorf("smtp %s: %s: %w", addr, step, err)
	if te, ok := errors.AsType[*textproto.Error](err); ok && te.Code >= 500 {
		return permanentError{err}
	}
	return err
}
