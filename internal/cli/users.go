package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

func runUsers(ctx context.Context, env Env, args []string) error {
	return subcommand(ctx, env, "users", args, map[string]func(context.Context, Env, []string) error{
		"add": usersAdd, "list": usersList, "disable": usersDisable, "set-password": usersSetPassword,
	})
}

func usersAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "users add")
	var (
		db                          dbFlags
		pf                          passwordFlag
		sub, subPrefix, name, email string
		ineligible, vEmail          bool
	)
	db.register(fs)
	pf.register(fs)
	fs.StringVar(&sub, "sub", "", "the user's subject (sub): a stable external id of at least 7 characters; default: generated")
	fs.StringVar(&subPrefix, "sub-prefix", "", "prefix for the subject, such as an institution code (\"fi123_\"), so short ids reach 7 characters")
	fs.StringVar(&name, "name", "", "full name (the profile scope's name claim)")
	fs.StringVar(&email, "email", "", "email address (the email scope)")
	fs.BoolVar(&vEmail, "email-verified", false, "the email address is verified")
	fs.BoolVar(&ineligible, "ineligible", false, "the user may sign in but not connect accounts (unauthorized_client)")
	username, err := oneArg(fs, env, args, "username")
	if err != nil {
		return err
	}
	if err := validateUsername(username); err != nil {
		return UsageError{err}
	}
	if sub == "" {
		sub = secret.ID("usr_", 10)
	}
	sub = subPrefix + sub
	if err := oauth.ValidateSubject(sub); err != nil {
		return UsageError{err}
	}
	pw, err := pf.read(env)
	if err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	u := store.User{ID: secret.ID("u_", 10), Subject: sub, Username: username, PasswordHash: pw.hash(),
		Name: name, Email: email, EmailVerified: vEmail, Ineligible: ineligible, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("a user with username %q or subject %q already exists", username, sub)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "username  %s\nsub       %s\n", username, sub)
	pw.printGenerated(env.Stdout)
	return nil
}

func validateUsername(u string) error {
	if len(u) < 1 || len(u) > 256 || strings.TrimSpace(u) != u || strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("username %q must be 1 to 256 characters without control characters or surrounding spaces", u)
	}
	return nil
}

func usersList(ctx context.Context, env Env, args []string) error {
	var asJSON bool
	st, err := openList(ctx, env, "users list", args, &asJSON)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	type userView struct {
		Username   string    `json:"username"`
		Subject    string    `json:"sub"`
		Name       string    `json:"name,omitempty"`
		Email      string    `json:"email,omitempty"`
		Disabled   bool      `json:"disabled"`
		Ineligible bool      `json:"ineligible"`
		CreatedAt  time.Time `json:"created_at"`
	}
	if asJSON {
		out := make([]userView, 0, len(users))
		for _, u := range users {
			out = append(out, userView{u.Username, u.Subject, u.Name, u.Email, u.Disabled, u.Ineligible, u.CreatedAt})
		}
		return printJSON(env, out)
	}
	tw := newTable(env.Stdout, "USERNAME\tSUB\tSTATUS\tNAME")
	for _, u := range users {
		status := "active"
		switch {
		case u.Disabled:
			status = "disabled"
		case u.Ineligible:
			status = "ineligible"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Subject, status, u.Name)
	}
	return tw.Flush()
}

func usersDisable(ctx context.Context, env Env, args []string) error {
	st, username, err := openOne(ctx, env, "users disable", "username", args)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByUsername(ctx, username)
	if err != nil {
		return notFound(err, "no user %q", username)
	}
	n, err := st.DisableUser(ctx, u.ID, time.Now().UTC(), "user disabled")
	if err != nil {
		return fmt.Errorf("disable %s: %w", username, err)
	}
	fmt.Fprintf(env.Stdout, "disabled %s (sub %s); revoked %d grant(s)\n", username, u.Subject, n)
	return nil
}

func usersSetPassword(ctx context.Context, env Env, args []string) error {
	return setPassword(ctx, env, args, "users set-password", "username", "password set for %s\n",
		func(ctx context.Context, st store.Store, username, hash string, now time.Time) error {
			u, err := st.GetUserByUsername(ctx, username)
			if err != nil {
				return notFound(err, "no user %q", username)
			}
			return st.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
				u.PasswordHash, u.UpdatedAt = hash, now
				return u, nil
			})
		})
}
