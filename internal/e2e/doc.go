// Package e2e holds end-to-end tests that drive fdxd with peers nobody here
// wrote: a real browser (Debian's chromium through chromedp) signing in
// through the login page, and x/oauth2 exchanging what it brought back.
package e2e
