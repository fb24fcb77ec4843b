// Package model holds the FDX / Core Exchange 6.4 shapes and the one
// encoder that writes them.
//
// Plaid's troubleshooting guide names the data failures aggregators see:
// null in JSON, missing required fields, values outside the spec. They are
// ruled out here, in one place, rather than by checks scattered over
// handlers: every shape is a struct whose `fdx` tags say which fields are
// required, and Marshal is the only writer of FDX JSON. Marshal cannot
// write null, writes "" and [] for required strings and arrays without a
// value, leaves out optional fields without one, and refuses (with the JSON
// path of each problem) a value that breaks an enumeration, a date or
// timestamp format, a currency or country code, a length or minItems limit,
// or a shape's cross-field rules (CheckFDX). Unmarshal reads the same
// shapes back, for imports, and applies the same rules plus presence:
// a required field must be in the input.
package model
