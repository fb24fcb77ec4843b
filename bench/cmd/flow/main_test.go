package main

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/fdxd/fdxd/internal/server/servertest"
)

func TestFlowPrintsARefreshToken(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	args := []string{"-issuer", s.Issuer, "-client-id", servertest.ClientID, "-redirect-uri", servertest.RedirectURI,
		"-username", servertest.Username}
	var out bytes.Buffer
	stdin := strings.NewReader(servertest.ClientSecret + "\n" + servertest.Password + "\n")
	if err := run(t.Context(), args, stdin, &out); err != nil {
		t.Fatalf("flow: %v", err)
	}
	refresh := strings.TrimSpace(out.String())
	if refresh == "" || strings.Contains(refresh, "\n") {
		t.Fatalf("printed %q; want one refresh token", out.String())
	}
	resp, body := s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}},
		servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("the printed refresh token does not refresh: %d %s", resp.StatusCode, body)
	}

	for name, stdin := range map[string]string{
		"wrong password": servertest.ClientSecret + "\nnot-the-password\n",
		"wrong secret":   "not-the-secret\n" + servertest.Password + "\n",
		"no input":       "",
	} {
		out.Reset()
		if err := run(t.Context(), args, strings.NewReader(stdin), &out); err == nil || out.Len() != 0 {
			t.Errorf("%s: err %v, printed %q; want an error and nothing printed", name, err, out.String())
		}
	}
}
