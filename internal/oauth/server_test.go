package oauth_test

import (
	"strings"
	"testing"

	"github.com/fdxd/fdxd/internal/oauth"
)

// TestIsLoopbackHost: only names and addresses that reach this machine count
// as loopback; a DNS name that merely starts with "127." is anybody's host,
// and treating it as loopback would let an http issuer or redirect URI
// through to the network.
func TestIsLoopbackHost(t *testing.T) {
	cases := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"[::1]", true},
		{"localhost", true},
		{"LOCALHOST", true},
		{"::ffff:127.0.0.1", true},
		{"127.attacker.example", false},
		{"127.0.0.1.nip.io", false},
		{"localhost.attacker.example", false},
		{"128.0.0.1", false},
		{"10.0.0.1", false},
		{"::2", false},
		{"example.com", false},
		{"", false},
	}
	for _, c := range cases {
		if got := oauth.IsLoopbackHost(c.host); got != c.want {
			t.Errorf("IsLoopbackHost(%q) = %v; want %v", c.host, got, c.want)
		}
	}
}

// TestIssuerMustBeLoopbackForHTTP: an http issuer on a host named like a
// loopback address is refused.
func TestIssuerMustBeLoopbackForHTTP(t *testing.T) {
	for _, issuer := range []string{"http://127.attacker.example", "http://127.0.0.1.nip.io:8080"} {
		cfg := oauth.Config{Issuer: issuer}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "must use https") {
			t.Errorf("issuer %s: Validate() = %v; want it refused as not https", issuer, err)
		}
	}
}
