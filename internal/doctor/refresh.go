package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// minRefreshLifetime is the guide's "13+ months", less a day for rounding.
func minRefreshLifetime(now time.Time) time.Duration {
	return now.AddDate(0, 13, 0).Sub(now) - 24*time.Hour
}

func (r *run) refresh(ctx context.Context, refreshToken string) (*tokenResult, error) {
	return r.tokenRequest(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, authBasic, r.cfg.ClientSecret)
}

func (r *run) checkRefresh(ctx context.Context) {
	ids := []string{"refresh.grant", "refresh.lifetime", "refresh.rotation", "refresh.rotated_reuse"}
	if r.main == nil || r.main.tokens.refreshToken == "" {
		why := "no refresh token (see token.refresh_without_consent)"
		if r.main == nil {
			why = "no tokens (see token.exchange_basic)"
		}
		for _, id := range ids {
			r.rec.skip(id, "%s", why)
		}
		return
	}
	rt := r.main.tokens.refreshToken

	// The lifetime first: introspection must see the token before anything
	// below rotates or revokes it.
	r.checkRefreshLifetime(ctx, rt)

	t, err := r.refresh(ctx, rt)
	switch {
	case err != nil:
		r.rec.fail("refresh.grant", "%v", err)
	case !t.ok():
		r.rec.fail("refresh.grant", "invalid_grant during refresh? the refresh token from the code exchange was refused: %s", t.describe())
	}
	if err != nil || !t.ok() {
		r.rec.skip("refresh.rotation", "the refresh failed")
		r.rec.skip("refresh.rotated_reuse", "the refresh failed")
		return
	}
	evidence := fmt.Sprintf("%s: %s", t.describe(), tokenDescription("access token", t.accessToken))
	switch accepted, known := r.tokenAccepted(ctx, t.accessToken); {
	case known && accepted:
		r.rec.pass("refresh.grant", "%s; the new access token works at userinfo", evidence)
	case known:
		r.rec.fail("refresh.grant", "%s, but userinfo refuses the new access token", evidence)
	default:
		r.rec.pass("refresh.grant", "%s", evidence)
	}

	if t.refreshToken == "" || t.refreshToken == rt {
		carries := "no refresh token"
		if t.refreshToken == rt {
			carries = "the same refresh token"
		}
		r.rec.info("refresh.rotation", "does not rotate: the refresh response carries %s and the original stays in use", carries)
		r.rec.skip("refresh.rotated_reuse", "refresh tokens do not rotate")
		return
	}
	r.rec.info("refresh.rotation", "rotates: each refresh returns a new refresh token (%s)", tokenDescription("refresh token", t.refreshToken))

	again, err := r.refresh(ctx, rt)
	switch {
	case err != nil:
		r.rec.warn("refresh.rotated_reuse", "reusing the previous refresh token: %v", err)
	case again.ok():
		r.rec.info("refresh.rotated_reuse", "the previous refresh token still works after rotation (a reuse window): %s", again.resp.summary())
	default:
		next, err := r.refresh(ctx, t.refreshToken)
		switch {
		case err != nil:
			r.rec.warn("refresh.rotated_reuse", "the previous refresh token is refused (%s); then the new one failed: %v", again.describe(), err)
		case next.ok():
			r.rec.info("refresh.rotated_reuse", "the previous refresh token is refused (%s) and the new one still works; a refresh response lost on the way leaves the aggregator with a dead token", again.describe())
		default:
			r.rec.warn("refresh.rotated_reuse", "reusing the previous refresh token (%s) revoked the new one too (%s): one lost refresh response ends the connection", again.describe(), next.describe())
		}
	}
}

// checkRefreshLifetime finds the refresh token's lifetime where it can be
// observed: refresh_expires_in, a JWT exp, or introspection.
func (r *run) checkRefreshLifetime(ctx context.Context, rt string) {
	const id = "refresh.lifetime"
	now := r.now()
	minimum := minRefreshLifetime(now)
	judge := func(lifetime time.Duration, source string) {
		days := int(lifetime.Hours() / 24)
		if lifetime >= minimum {
			r.rec.pass(id, "%d days (%s)", days, source)
		} else {
			r.rec.fail(id, "%d days (%s): shorter than 13 months, so background refreshes start failing with invalid_grant", days, source)
		}
	}
	if e := r.main.tokens.refreshExpiresIn; e != nil {
		if *e == 0 {
			r.rec.pass(id, "refresh_expires_in 0: no expiry")
			return
		}
		judge(time.Duration(*e)*time.Second, "refresh_expires_in")
		return
	}
	if strings.Count(rt, ".") == 2 {
		var claims struct {
			Exp *float64 `json:"exp"`
			Iat *float64 `json:"iat"`
		}
		parts := strings.Split(rt, ".")
		if b, err := base64URLDecode(parts[1]); err == nil && json.Unmarshal(b, &claims) == nil && claims.Exp != nil {
			start := now
			if claims.Iat != nil {
				start = time.Unix(int64(*claims.Iat), 0)
			}
			judge(time.Unix(int64(*claims.Exp), 0).Sub(start), "the refresh token's JWT exp")
			return
		}
	}
	if r.ep.introspection != "" {
		form := url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}
		t, err := r.clientPost(ctx, r.ep.introspection, form, authBasic, r.cfg.ClientSecret)
		switch {
		case err != nil:
			r.rec.info(id, "unknown: introspection failed: %v", err)
		case t.resp.status != http.StatusOK:
			r.rec.info(id, "unknown: introspection answered %s", t.describe())
		case t.fields["active"] != true:
			r.rec.info(id, "unknown: introspection says the refresh token is not active")
		default:
			exp := numberField(t.fields, "exp")
			if exp == nil {
				r.rec.pass(id, "no expiry (introspection shows no exp)")
				return
			}
			start := now
			if iat := numberField(t.fields, "iat"); iat != nil {
				start = time.Unix(int64(*iat), 0)
			}
			judge(time.Unix(int64(*exp), 0).Sub(start), "introspection exp")
		}
		return
	}
	r.rec.info(id, "unknown: no refresh_expires_in, the refresh token is opaque, and there is no introspection endpoint")
}
