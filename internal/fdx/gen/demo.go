package gen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/dataset"
	"github.com/fdxd/fdxd/internal/store"
)

// DemoStore is what Demo needs of the store.
type DemoStore interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	store.SettingStore
	store.DataStore
}

// DemoSeed fixes the demo data set.
const DemoSeed = 20261125

// demoSetting records the day the demo data was last generated for a user.
func demoSetting(userID string) string { return "fdx_demo_data." + userID }

// Demo gives the user a full data set with two years of history up to
// now: every account category, every endpoint with data. It is idempotent:
// a second call on the same day does nothing, a call on a later day
// replaces the user's accounts with the same accounts (same IDs) brought up
// to date, in one transaction. It never adds to what is there.
func Demo(ctx context.Context, st DemoStore, userID string, now time.Time) error {
	day := now.UTC().Format(time.DateOnly)
	switch done, err := st.GetSetting(ctx, demoSetting(userID)); {
	case err == nil && done == day:
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("demo data: %w", err)
	}
	u, err := st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("demo data: user %q: %w", userID, err)
	}
	f, err := Generate(Options{Username: u.Username, HolderName: u.Name, Email: u.Email, Accounts: DefaultAccounts,
		TransactionsPerAccount: 720, Months: DefaultMonths, Seed: DemoSeed, Now: now})
	if err != nil {
		return err
	}
	imp, err := f.Convert(ctx, oneUser{u}, dataset.Options{Replace: true, Now: now.UTC(), Institution: "fdxd Demo Bank"})
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if err := st.ImportData(ctx, imp); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if err := st.SetSetting(ctx, demoSetting(userID), day); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	return nil
}

// oneUser resolves the one username of a generated file.
type oneUser struct{ u store.User }

func (o oneUser) GetUserByUsername(_ context.Context, username string) (store.User, error) {
	if username != o.u.Username {
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	}
	return o.u, nil
}
