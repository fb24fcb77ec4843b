package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// The demo's fixed values; real clients and users get generated secrets.
const (
	DemoClientID     = "demo-aggregator"
	DemoClientSecret = "demo-aggregator-secret"
	DemoUsername     = "demo"
	DemoPassword     = "demo-password"
	DemoSubject      = "usr_demo_0001"
)

// DemoRedirectURIs are Plaid's web redirect and a local callback.
var DemoRedirectURIs = []string{"https://cdn.plaid.com/link/v2/stable/oauth.html", "http://127.0.0.1:8787/callback"}

// seedDemo creates, or resets to the documented values, the demo client and
// user. Running it again changes nothing else.
func seedDemo(ctx context.Context, st store.Store, now time.Time) (err error) {
	now = now.UTC()
	client := store.Client{
		ID:           DemoClientID,
		Name:         "Demo Aggregator",
		SecretHash:   secret.Hash(DemoClientSecret),
		RedirectURIs: DemoRedirectURIs,
		GrantTypes:   oauth.SupportedGrantTypes,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	err = st.CreateClient(ctx, client)
	if errors.Is(err, store.ErrAlreadyExists) {
		err = st.UpdateClient(ctx, DemoClientID, func(c store.Client) (store.Client, error) {
			if c.SecretHash == client.SecretHash && slices.Equal(c.RedirectURIs, client.RedirectURIs) &&
				slices.Equal(c.GrantTypes, client.GrantTypes) {
				return c, nil
			}
			c.SecretHash, c.RedirectURIs, c.GrantTypes, c.UpdatedAt = client.SecretHash, client.RedirectURIs, client.GrantTypes, now
			return c, nil
		})
	}
	if err != nil {
		return fmt.Errorf("demo client: %w", err)
	}

	u, err := st.GetUserByUsername(ctx, DemoUsername)
	defer func() {
		// FDX data for every endpoint, two years of it; idempotent.
		if err == nil {
			err = gen.Demo(ctx, st, u.ID, now)
		}
	}()
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = store.User{ID: secret.ID("u_", 10), Subject: DemoSubject, Username: DemoUsername,
			PasswordHash: password.Hash(DemoPassword, password.Default), Name: "Demo User", Email: "demo@example.com",
			EmailVerified: true, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("demo user: %w", err)
		}
	case err != nil:
		return fmt.Errorf("demo user: %w", err)
	default:
		if password.Verify(DemoPassword, u.PasswordHash) != nil || u.Disabled {
			err := st.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
				u.PasswordHash, u.Disabled, u.UpdatedAt = password.Hash(DemoPassword, password.Default), false, now
				return u, nil
			})
			if err != nil {
				return fmt.Errorf("demo user: %w", err)
			}
		}
	}
	return nil
}

func printDemo(env Env, issuer, api string) {
	fmt.Fprintf(env.Stdout, `fdxd demo mode
  issuer         %[1]s
  discovery      %[1]s/.well-known/openid-configuration
  client_id      %[2]s
  client_secret  %[3]s   (client_secret_basic or client_secret_post)
  redirect_uris  %[4]s
                 %[5]s
  user           %[6]s / %[7]s
  FDX API        %[8]s (the demo user has two years of data in every account type)
  try            %[1]s/authorize?response_type=code&client_id=%[2]s&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A8787%%2Fcallback&scope=openid%%20offline_access&state=try-it
`, issuer, DemoClientID, DemoClientSecret, DemoRedirectURIs[0], DemoRedirectURIs[1], DemoUsername, DemoPassword, api)
}
