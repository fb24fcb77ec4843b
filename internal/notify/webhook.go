package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// WebhookConfig is where webhooks go and how they are signed.
type WebhookConfig struct {
	// URL receives a JSON POST per event; https, or http on any host for a
	// receiver on the provider's own network.
	URL string
	// Secret keys the HMAC-SHA256 signature (at least 16 bytes).
	Secret []byte
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Client, when set, replaces the default HTTP client (custom TLS roots).
	Client *http.Client
	Now    func() time.Time
}

// Webhook headers. The signature is the hex HMAC-SHA256, keyed by the
// shared secret, of the timestamp, a dot, and the body:
//
//	X-Fdxd-Signature: sha256=hex(HMAC(secret, X-Fdxd-Timestamp + "." + body))
//
// A receiver recomputes it, compares in constant time, and refuses
// timestamps older than a few minutes so a captured request cannot be
// replayed later.
const (
	HeaderEvent     = "X-Fdxd-Event"
	HeaderDelivery  = "X-Fdxd-Delivery"
	HeaderTimestamp = "X-Fdxd-Timestamp"
	HeaderSignature = "X-Fdxd-Signature"
)

// Sign returns the X-Fdxd-Signature value of body sent at timestamp.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature made by Sign, in constant time.
func Verify(secret []byte, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

type webhookSender struct {
	cfg    WebhookConfig
	client *http.Client
	// target is the URL without credentials, query or path, safe to show.
	target string
}

func newWebhookSender(cfg WebhookConfig) (*webhookSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("notify: the webhook URL must be an absolute http(s) URL")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("notify: the webhook secret (FDXD_WEBHOOK_SECRET) must be at least 16 bytes")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	c := *client
	c.Timeout = cfg.Timeout
	// A redirect is an answer from the wrong place: report it, do not follow.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// The path of a webhook URL is often its credential (…/services/T0/B0/XYZ).
	target := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" {
		target += "/…"
	}
	return &webhookSender{cfg: cfg, client: &c, target: target}, nil
}

// webhookBody is the JSON a webhook receives.
type webhookBody struct {
	Event      string              `json:"event"`
	DeliveryID string              `json:"delivery_id"`
	CreatedAt  time.Time           `json:"created_at"`
	Issue      observe.BundleIssue `json:"issue"`
	URL        string              `json:"url,omitempty"`
}

func webhookPayload(deliveryID string, ev observe.IssueEvent, issueURL string, now time.Time) ([]byte, error) {
	return json.Marshal(webhookBody{Event: ev.Event, DeliveryID: deliveryID, CreatedAt: now,
		Issue: observe.NewBundleIssue(ev.Issue), URL: issueURL})
}

func (w *webhookSender) send(ctx context.Context, d store.Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return permanentError{fmt.Errorf("webhook: %w", err)}
	}
	ts := strconv.FormatInt(w.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fdxd-webhook/1")
	req.Header.Set(HeaderEvent, d.Event)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, d.Payload))
	resp, err := w.client.Do(req)
	if err != nil {
		// The error names the URL, which may hold a credential: say less.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("webhook to %s: %w", w.target, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook to %s: answered %s", w.target, resp.Status)
	default:
		return permanentError{fmt.Errorf("webhook to %s: answered %s", w.target, resp.Status)}
	}
}
