// Command flow signs a user in through fdxd's real login form, exchanges
// the code with x/oauth2 and prints the refresh token: the setup of
// bench/load.sh. The client secret and the password are read from
// standard input (one per line), never from flags.
//
//	printf '%s\n%s\n' "$secret" "$password" | flow -issuer URL -client-id ID -redirect-uri URI -username NAME
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flow:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("flow", flag.ContinueOnError)
	issuer := fs.String("issuer", "", "fdxd's issuer URL")
	clientID := fs.String("client-id", "", "client_id of a confidential client")
	redirectURI := fs.String("redirect-uri", "", "a redirect URI registered for the client (nothing needs to listen there)")
	username := fs.String("username", "", "the user who signs in")
	scope := fs.String("scope", "openid offline_access", "scopes to request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *issuer == "" || *clientID == "" || *redirectURI == "" || *username == "" {
		return errors.New("-issuer, -client-id, -redirect-uri and -username are required")
	}
	in := bufio.NewScanner(stdin)
	var lines []string
	for len(lines) < 2 && in.Scan() {
		lines = append(lines, strings.TrimRight(in.Text(), "\r"))
	}
	if len(lines) < 2 || lines[0] == "" || lines[1] == "" {
		return errors.New("standard input must hold the client secret and the password, one per line")
	}
	conf := &oauth2.Config{
		ClientID:     *clientID,
		ClientSecret: lines[0],
		RedirectURL:  *redirectURI,
		Endpoint:     oauth2.Endpoint{AuthURL: *issuer + "/authorize", TokenURL: *issuer + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:       strings.Fields(*scope),
	}
	verifier := oauth2.GenerateVerifier()
	state := "bench-" + oauth2.GenerateVerifier()[:16]
	code, err := signIn(ctx, *issuer, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), *username, lines[1], state)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("code exchange: %w", err)
	}
	if tok.RefreshToken == "" {
		return errors.New("no refresh token in the token response (is offline_access allowed?)")
	}
	fmt.Fprintln(stdout, tok.RefreshToken)
	return nil
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	accountBox  = regexp.MustCompile(`name="account" value="([^"]+)"`)
)

// signIn follows the authorize URL like a browser: the login form, then
// the account-selection form when the client asks for one (sharing every
// account), until the server redirects to the client with a code.
func signIn(ctx context.Context, issuer, authorizeURL, username, password, state string) (string, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	origin, err := url.Parse(issuer)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	next, form := authorizeURL, url.Values(nil)
	postedLogin := false
	for range 10 {
		var req *http.Request
		if form != nil {
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, next, strings.NewReader(form.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", origin.Scheme+"://"+origin.Host)
			}
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		}
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			u, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return "", fmt.Errorf("bad redirect %q", loc)
			}
			if !strings.HasPrefix(u.String(), strings.TrimSuffix(issuer, "/")+"/") {
				q := u.Query()
				if q.Get("state") != state {
					return "", fmt.Errorf("the redirect carries state %q, not %q", q.Get("state"), state)
				}
				if e := q.Get("error"); e != "" {
					return "", fmt.Errorf("authorization failed: %s: %s", e, q.Get("error_description"))
				}
				return q.Get("code"), nil
			}
			next, form = u.String(), nil
			continue
		}
		page := string(body)
		action := formAction.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || action == nil {
			return "", fmt.Errorf("sign-in stopped on a %d page without a form", resp.StatusCode)
		}
		form = url.Values{}
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if strings.Contains(page, `name="password"`) {
			if postedLogin {
				return "", errors.New("the login form came back: the username or password was refused")
			}
			postedLogin = true
			form.Set("username", username)
			form.Set("password", password)
			form.Set("action", "login")
		} else {
			form.Set("action", "share")
			for _, m := range accountBox.FindAllStringSubmatch(page, -1) {
				form.Add("account", html.UnescapeString(m[1]))
			}
		}
		target, err := resp.Request.URL.Parse(html.UnescapeString(action[1]))
		if err != nil {
			return "", fmt.Errorf("bad form action %q", action[1])
		}
		next = target.String()
	}
	return "", errors.New("no redirect to the client after 10 steps")
}
