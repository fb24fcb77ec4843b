package observe

import (
	"fmt"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/store"
)

// Condition keys of the health checks. The JWKS self-check judges one
// replica's own view (the JWKS it serves from its own key cache), so its
// key names the replica: "jwks_self_check:<replica>".
const (
	ConditionKeyRotation = "key_rotation"
	ConditionJWKS        = "jwks_self_check"
)

// SigningKeyCondition checks that the active signing key has a published
// successor once it is within keys.PublishLead of its rotation: a verifier
// must see the next kid in the JWKS a day before it signs anything
// (Plaid: "Confirm new keys published to JWKS before removing old ones").
// It fails as well when no key is active.
func SigningKeyCondition(list []keys.KeyInfo, now time.Time) Condition {
	c := Condition{Key: ConditionKeyRotation, Kind: store.IssueKeyRotation}
	var active *keys.KeyInfo
	next := false
	for i, k := range list {
		switch k.State {
		case string(store.KeyActive):
			if active == nil || k.ActivatedAt.After(active.ActivatedAt) {
				active = &list[i]
			}
		case string(store.KeyNext):
			next = true
		}
	}
	switch {
	case active == nil:
		c.Failing, c.Error = true, "no_active_key"
		c.Summary = "no signing key is active: ID tokens cannot be signed"
	case next:
	case active.RotatesAt.IsZero():
	case !now.Before(active.RotatesAt.Add(-keys.PublishLead)):
		c.Failing, c.Error = true, "no_successor_key"
		when := "is due to rotate at " + active.RotatesAt.UTC().Format(time.RFC3339)
		if !now.Before(active.RotatesAt) {
			when = "was due to rotate at " + active.RotatesAt.UTC().Format(time.RFC3339)
		}
		c.Summary = fmt.Sprintf("signing key %s %s and no successor is published in the JWKS", active.ID, when)
	}
	return c
}

// JWKSCondition runs the JWKS self-check (keys.VerifyOwnJWKS) on the JWKS
// as replica serves it: the active kid must be published, and nothing
// private. The condition is the replica's own: only it resolves the issue
// (see AlertConfig.ReplicaStaleAfter for a replica that stopped).
func JWKSCondition(body []byte, activeKID, replica string) Condition {
	c := Condition{Key: ConditionJWKS + ":" + replica, Kind: store.IssueJWKS}
	if err := keys.VerifyOwnJWKS(body, activeKID); err != nil {
		c.Failing, c.Error = true, "jwks_invalid"
		if strings.Contains(err.Error(), "kid_not_found") {
			c.Error = "kid_not_found"
		}
		c.Summary = "replica " + replica + ": JWKS self-check failed: " + err.Error()
	}
	return c
}
