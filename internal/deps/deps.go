package deps
import (
 _ "github.com/go-jose/go-jose/v4"
 _ "modernc.org/sqlite"
 _ "github.com/jackc/pgx/v5/stdlib"
 _ "github.com/jackc/pgx/v5/pgxpool"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "golang.org/x/crypto/argon2"
 _ "golang.org/x/time/rate"
 _ "github.com/getkin/kin-openapi/openapi3filter"
 _ "github.com/coreos/go-oidc/v3/oidc"
 _ "golang.org/x/oauth2"
 _ "github.com/chromedp/chromedp"
 _ "github.com/emersion/go-smtp"
)
