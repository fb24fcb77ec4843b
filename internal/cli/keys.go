package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/store"
)

func runKeys(ctx context.Context, env Env, args []string) error {
	return subcommand(ctx, env, "keys", args, map[string]func(context.Context, Env, []string) error{
		"list": keysList, "rotate": keysRotate,
	})
}

// keyManager opens the store and a key manager with the server's settings.
type keyCommand struct {
	db         dbFlags
	alg        string
	rotation   time.Duration
	idTokenTTL time.Duration
	asJSON     bool
}

func (k *keyCommand) manager(ctx context.Context, env Env) (*keys.Manager, func(), error) {
	st, err := k.db.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	sealer, _, err := k.db.sealer(env, false)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if k.alg == "" {
		if k.alg, err = storedAlgorithm(ctx, st); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	m, err := keys.New(keys.Config{Keys: st, Settings: st, Sealer: sealer, Algorithm: k.alg, RotationPeriod: k.rotation,
		SignedTokenLifetime: k.idTokenTTL})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return m, func() { st.Close() }, nil
}

// storedAlgorithm is the algorithm the running servers use: that of the
// next key (a server replaces a next key of another algorithm), else of
// the active key; "" (RS256) on an empty database. A rotation with any
// other algorithm would replace the published next key and restart its
// 24-hour lead.
func storedAlgorithm(ctx context.Context, st store.KeyStore) (string, error) {
	list, err := st.ListSigningKeys(ctx)
	if err != nil {
		return "", err
	}
	alg := ""
	for _, key := range list {
		switch {
		case key.State == store.KeyNext:
			return key.Algorithm, nil
		case key.State == store.KeyActive:
			alg = key.Algorithm
		}
	}
	return alg, nil
}

func (k *keyCommand) parse(env Env, name string, args []string) error {
	fs := newFlagSet(env, name)
	k.db.register(fs)
	fs.StringVar(&k.alg, "signing-alg", "", "the server's --signing-alg (default: the stored keys' algorithm, RS256 for the first key)")
	fs.DurationVar(&k.rotation, "key-rotation-period", keys.DefaultRotationPeriod, "the server's --key-rotation-period")
	fs.DurationVar(&k.idTokenTTL, "id-token-ttl", oauth.DefaultIDTokenTTL, "the server's --id-token-ttl")
	fs.BoolVar(&k.asJSON, "json", false, "print JSON")
	return noArgs(fs, env, args)
}

func keysList(ctx context.Context, env Env, args []string) error {
	var k keyCommand
	if err := k.parse(env, "keys list", args); err != nil {
		return err
	}
	m, done, err := k.manager(ctx, env)
	if err != nil {
		return err
	}
	defer done()
	if err := m.Reload(ctx); err != nil {
		return err
	}
	list := m.List()
	if k.asJSON {
		return printJSON(env, list)
	}
	tw := newTable(env.Stdout, "KID\tALG\tSTATE\tPUBLISHED\tSIGNS FROM\tACTIVATED\tROTATES\tRETIRED\tREMOVED AFTER")
	for _, i := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Algorithm, i.State, day(i.PublishedAt), day(i.SignsFrom),
			day(i.ActivatedAt), day(i.RotatesAt), day(i.RetiredAt), day(i.RemoveAfter))
	}
	return tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func keysRotate(ctx context.Context, env Env, args []string) error {
	var k keyCommand
	if err := k.parse(env, "keys rotate", args); err != nil {
		return err
	}
	m, done, err := k.manager(ctx, env)
	if err != nil {
		return err
	}
	defer done()
	at, err := m.RequestRotation(ctx)
	if err != nil {
		return err
	}
	kid, _, _ := m.Active()
	if !at.After(time.Now()) {
		fmt.Fprintf(env.Stdout, "rotated: %s signs from now on; the previous key stays published for 24 h plus the ID token lifetime\n", kid)
		return nil
	}
	fmt.Fprintf(env.Stdout, "rotation requested: the next key has been published for less than 24 h, so it starts signing at %s;\n"+
		"running servers rotate then on their own (until then %s keeps signing)\n", at.UTC().Format(time.RFC3339), kid)
	return nil
}
