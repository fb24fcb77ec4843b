package doctor

import (
	"html"
	"strings"
)

// This file reads just enough HTML to drive a provider's login like a
// browser with JavaScript off: forms with their fields and buttons, the page
// title and a meta refresh. The tokenizer is tolerant (unquoted and
// valueless attributes, comments, raw text in script and style) because the
// pages come from servers nobody here wrote.

type htmlToken struct {
	kind  tokenKind
	name  string            // lower-case tag name
	attrs map[string]string // lower-case attribute names; first occurrence wins
	text  string            // text tokens: unescaped text
}

type tokenKind int

const (
	tokText tokenKind = iota
	tokStart
	tokEnd
)

// rawTextElements hold text up to their end tag, not markup.
var rawTextElements = map[string]bool{"script": true, "style": true, "textarea": true, "title": true, "xmp": true}

func tokenizeHTML(doc string) []htmlToken {
	var toks []htmlToken
	i := 0
	for i < len(doc) {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			toks = appendText(toks, doc[i:])
			break
		}
		if lt > 0 {
			toks = appendText(toks, doc[i:i+lt])
		}
		i += lt
		rest := doc[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return toks
			}
			i += 4 + end + 3
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return toks
			}
			i += end + 1
		case strings.HasPrefix(rest, "</"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return toks
			}
			if f := strings.Fields(rest[2:end]); len(f) > 0 {
				toks = append(toks, htmlToken{kind: tokEnd, name: strings.ToLower(f[0])})
			}
			i += end + 1
		case len(rest) > 1 && isLetter(rest[1]):
			tok, n := parseStartTag(rest)
			if n == 0 {
				return toks
			}
			toks = append(toks, tok)
			i += n
			if rawTextElements[tok.name] {
				closing := "</" + tok.name
				end := strings.Index(strings.ToLower(doc[i:]), closing)
				if end < 0 {
					end = len(doc) - i
				}
				if tok.name != "script" && tok.name != "style" {
					toks = appendText(toks, doc[i:i+end])
				}
				i += end
			}
		default:
			toks = appendText(toks, "<")
			i++
		}
	}
	return toks
}

func appendText(toks []htmlToken, raw string) []htmlToken {
	return append(toks, htmlToken{kind: tokText, text: html.UnescapeString(raw)})
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// parseStartTag reads "<name attr=value ...>" at the start of s and returns
// the token and the bytes consumed (0 when the tag never closes).
func parseStartTag(s string) (htmlToken, int) {
	i := 1
	for i < len(s) && !isSpace(s[i]) && s[i] != '>' && s[i] != '/' {
		i++
	}
	tok := htmlToken{kind: tokStart, name: strings.ToLower(s[1:i]), attrs: map[string]string{}}
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return tok, 0
		}
		if s[i] == '>' {
			return tok, i + 1
		}
		start := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/' {
			i++
		}
		name := strings.ToLower(s[start:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		value := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return tok, 0
				}
				value = s[i+1 : i+1+end]
				i += end + 2
			} else {
				start := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				value = s[start:i]
			}
		}
		if _, seen := tok.attrs[name]; !seen && name != "" {
			tok.attrs[name] = html.UnescapeString(value)
		}
	}
}

// htmlPage is what the login walker needs from a page.
type htmlPage struct {
	title       string
	forms       []htmlForm
	metaRefresh string // target URL of <meta http-equiv=refresh>, if any
	links       []htmlLink
	text        string // visible text, collapsed, for evidence
}

type htmlLink struct{ href, text string }

type htmlForm struct {
	action  string
	method  string // upper case; GET when absent
	id      string
	fields  []formField
	hasFile bool
}

// formField is an input, button, select or textarea in document order.
type formField struct {
	tag      string // input, button, select, textarea
	typ      string // input type (lower case, "text" when absent); buttons: submit, reset or button
	name     string
	value    string
	checked  bool
	disabled bool
	label    string // button text or input value/aria-label/placeholder: what a person would read
	hint     string // id, autocomplete, placeholder, aria-label: clues to the field's purpose
	options  []string
}

func parseHTMLPage(doc string) htmlPage {
	var page htmlPage
	var form *htmlForm
	// Indexes into form.fields of the element whose content is being read; -1 when none.
	button, selectIdx, textarea := -1, -1, -1
	var options []selectOption // of the open select
	var inTitle bool
	link := -1 // index into page.links of the open <a>
	var text strings.Builder
	closeForm := func() {
		if form != nil {
			page.forms = append(page.forms, *form)
			form = nil
		}
		button, selectIdx, textarea, options = -1, -1, -1, nil
	}
	for _, t := range tokenizeHTML(doc) {
		switch t.kind {
		case tokText:
			switch {
			case inTitle:
				page.title += t.text
			case link >= 0:
				page.links[link].text += t.text
			case form != nil && button >= 0:
				form.fields[button].label += t.text
			case form != nil && textarea >= 0:
				form.fields[textarea].value += t.text
			case form != nil && selectIdx >= 0 && len(options) > 0 && !options[len(options)-1].hasValue:
				options[len(options)-1].value += t.text
			}
			if !inTitle {
				text.WriteString(t.text)
				text.WriteByte(' ')
			}
		case tokStart:
			a := t.attrs
			switch t.name {
			case "title":
				inTitle = true
			case "a":
				if href, ok := a["href"]; ok {
					page.links = append(page.links, htmlLink{href: strings.TrimSpace(href), text: a["aria-label"]})
					link = len(page.links) - 1
				}
			case "meta":
				if strings.EqualFold(strings.TrimSpace(a["http-equiv"]), "refresh") {
					content := a["content"]
					if idx := strings.Index(strings.ToLower(content), "url="); idx >= 0 {
						page.metaRefresh = strings.Trim(strings.TrimSpace(content[idx+4:]), `'"`)
					}
				}
			case "form":
				closeForm()
				method := strings.ToUpper(strings.TrimSpace(a["method"]))
				if method != "POST" {
					method = "GET"
				}
				form = &htmlForm{action: strings.TrimSpace(a["action"]), method: method, id: a["id"]}
			case "input", "button", "select", "textarea":
				if form == nil {
					continue
				}
				f := formField{tag: t.name, name: a["name"], value: a["value"]}
				_, f.checked = a["checked"]
				_, f.disabled = a["disabled"]
				f.hint = strings.ToLower(strings.Join([]string{a["id"], a["autocomplete"], a["placeholder"], a["aria-label"], a["inputmode"]}, " "))
				idx := len(form.fields)
				switch t.name {
				case "input":
					f.typ = strings.ToLower(strings.TrimSpace(a["type"]))
					if f.typ == "" {
						f.typ = "text"
					}
					f.label = firstNonEmpty(a["value"], a["aria-label"], a["placeholder"], a["alt"])
					if f.typ == "file" {
						form.hasFile = true
					}
				case "button":
					f.typ = strings.ToLower(strings.TrimSpace(a["type"]))
					if f.typ == "" {
						f.typ = "submit"
					}
					f.label = a["aria-label"]
					button = idx
				case "select":
					f.typ = "select"
					selectIdx, options = idx, nil
				case "textarea":
					f.typ = "textarea"
					textarea = idx
				}
				form.fields = append(form.fields, f)
			case "option":
				if form != nil && selectIdx >= 0 {
					o := selectOption{}
					o.value, o.hasValue = a["value"]
					_, o.selected = a["selected"]
					options = append(options, o)
				}
			}
		case tokEnd:
			switch t.name {
			case "title":
				inTitle = false
			case "a":
				link = -1
			case "form":
				closeForm()
			case "button":
				button = -1
			case "textarea":
				textarea = -1
			case "select":
				if form != nil && selectIdx >= 0 {
					// A browser submits the selected option, or the first one.
					sel := &form.fields[selectIdx]
					chosen := false
					for i, o := range options {
						v := o.value
						if !o.hasValue {
							v = strings.TrimSpace(v)
						}
						sel.options = append(sel.options, v)
						if o.selected && !chosen || i == 0 {
							sel.value = v
							chosen = chosen || o.selected
						}
					}
				}
				selectIdx, options = -1, nil
			}
		}
	}
	closeForm()
	for i := range page.forms {
		for j := range page.forms[i].fields {
			f := &page.forms[i].fields[j]
			f.label = strings.Join(strings.Fields(f.label), " ")
		}
	}
	for i := range page.links {
		page.links[i].text = strings.Join(strings.Fields(page.links[i].text), " ")
	}
	page.title = strings.Join(strings.Fields(page.title), " ")
	page.text = strings.Join(strings.Fields(text.String()), " ")
	return page
}

type selectOption struct {
	value              string
	hasValue, selected bool
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (f formField) isSubmit() bool {
	return f.tag == "button" && f.typ == "submit" || f.tag == "input" && (f.typ == "submit" || f.typ == "image")
}

// isTextEntry reports whether a person would type into the field.
func (f formField) isTextEntry() bool {
	if f.tag != "input" {
		return false
	}
	switch f.typ {
	case "text", "email", "tel", "number", "search", "url":
		return true
	}
	return false
}

// looksLikeCancel reports whether a submit button backs out of the flow.
func (f formField) looksLikeCancel() bool {
	s := strings.ToLower(f.name + " " + f.value + " " + f.label + " " + f.hint)
	for _, w := range []string{"cancel", "deny", "decline", "reject", "abort", "disallow", "don't allow", "do not allow"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// looksLikeUsername reports whether a text field asks for the user's login name.
func (f formField) looksLikeUsername() bool {
	s := strings.ToLower(f.name + " " + f.hint)
	for _, w := range []string{"user", "login", "email", "mail", "account", "member", "customer", "signin", "identifier", "uid"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func (form htmlForm) hasPassword() bool {
	for _, f := range form.fields {
		if f.tag == "input" && f.typ == "password" && !f.disabled {
			return true
		}
	}
	return false
}

func (form htmlForm) submitButtons() (proceed, cancel []formField) {
	for _, f := range form.fields {
		if !f.isSubmit() || f.disabled {
			continue
		}
		if f.looksLikeCancel() {
			cancel = append(cancel, f)
		} else {
			proceed = append(proceed, f)
		}
	}
	return proceed, cancel
}

// fieldNames lists the names a submission would send, for evidence (values
// are never shown: one of them is a password).
func fieldNames(fields []formField) string {
	var names []string
	for _, f := range fields {
		if f.name != "" {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}
