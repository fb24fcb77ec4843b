package dataset

import (
	"fmt"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/fdx/pdf"
)

// StatementInput is what a statement shows.
type StatementInput struct {
	Institution string
	Account     model.AccountDescriptor
	Holder      string
	// From and To bound the period, both inclusive.
	From, To model.Date
	// Transactions of the account; those posted in the period are listed.
	Transactions []model.Transaction
	// Opening is the balance at the start of the period, when known; the
	// statement then shows the closing balance too.
	Opening *model.Amount
	Issued  time.Time
}

// RenderStatement writes a statement PDF: the account, the period, every
// transaction posted in it with debits and credits, the totals and, when
// the opening balance is known, the closing balance.
func RenderStatement(in StatementInput) []byte {
	title := fmt.Sprintf("%s statement %s to %s", in.Account.ProductName, in.From, in.To)
	d := pdf.New(title, in.Issued)
	inst := in.Institution
	if inst == "" {
		inst = "fdxd"
	}
	d.Line(pdf.Heading, inst)
	d.Line(pdf.Subheading, "Account statement")
	d.Space()
	if in.Holder != "" {
		d.Line(pdf.Text, in.Holder)
	}
	name := in.Account.ProductName
	if in.Account.Nickname != "" {
		name += " (" + in.Account.Nickname + ")"
	}
	d.Line(pdf.Text, name)
	if in.Account.AccountNumberDisplay != "" {
		d.Line(pdf.Text, "Account "+in.Account.AccountNumberDisplay)
	}
	d.Line(pdf.Text, fmt.Sprintf("Statement period %s to %s, amounts in %s", in.From, in.To, in.Account.Currency.CurrencyCode))
	d.Space()
	owed := in.Account.AccountCategory == model.LoanAccount || in.Account.AccountCategory == model.LocAccount
	if in.Opening != nil {
		label := "Opening balance"
		if owed {
			label = "Opening balance owed"
		}
		d.Line(pdf.Mono, fmt.Sprintf("%-62s %14s", label, in.Opening.String()))
		d.Space()
	}
	d.Line(pdf.Mono, fmt.Sprintf("%-10s  %-48s %12s %12s", "Date", "Description", "Debits", "Credits"))
	var debits, credits model.Amount
	count := 0
	for _, t := range in.Transactions {
		if t.Status != model.TransactionStatusPosted {
			continue
		}
		day := model.DateOf(t.PostedTimestamp.Time)
		if day.Before(in.From) || day.After(in.To) {
			continue
		}
		count++
		var dr, cr string
		if t.DebitCreditMemo == model.DebitCreditMemoCredit {
			credits += t.Amount
			cr = t.Amount.String()
		} else {
			debits += t.Amount
			dr = t.Amount.String()
		}
		d.Line(pdf.Mono, fmt.Sprintf("%-10s  %-48s %12s %12s", day, clip(t.Description, 48), dr, cr))
	}
	if count == 0 {
		d.Line(pdf.Mono, "No transactions posted in this period.")
	}
	d.Space()
	d.Line(pdf.Mono, fmt.Sprintf("%-60s %12s %12s", "Totals", debits.String(), credits.String()))
	if in.Opening != nil {
		closing := *in.Opening + credits - debits
		label := "Closing balance"
		if owed {
			closing = *in.Opening + debits - credits
			label = "Closing balance owed"
		}
		d.Line(pdf.Mono, fmt.Sprintf("%-62s %14s", label, closing.String()))
	}
	d.Space()
	d.Line(pdf.Text, fmt.Sprintf("Issued %s by %s.", in.Issued.UTC().Format(time.DateOnly), inst))
	return d.Bytes()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
