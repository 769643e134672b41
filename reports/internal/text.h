// Text helpers shared by the writers: turning untrusted strings (scenario
// names, error messages, invoice fields) into safe text for each output
// format, and formatting numbers the same way on every machine.
//
// Every writer first makes a string valid UTF-8 (invalid bytes become
// U+FFFD), then escapes it for its format. Numbers are formatted with fmt's
// shortest round-trip form or a fixed precision, never with the locale.
#pragma once

#include <string>
#include <string_view>

#include "runtime/time.h"

namespace faultline::reports::internal {

// Valid UTF-8: each byte of an invalid, overlong or truncated sequence, and
// each surrogate, becomes U+FFFD. With `drop_controls`, C0 controls other than
// tab, LF and CR, DEL and C1 controls become U+FFFD too (XML 1.0 forbids the
// C0 ones outright).
std::string sanitize_utf8(std::string_view text, bool drop_controls = false);

// At most `max_code_points` code points of valid UTF-8, with "…" appended
// when cut (for chart labels; tooltips keep the whole string).
std::string truncate_utf8(std::string_view text, std::size_t max_code_points);

// For element text and attribute values in XML 1.0 and HTML: & < > " ' are
// replaced by references, controls are replaced (see sanitize_utf8), and in
// attributes tab, LF and CR become character references so they survive
// attribute-value normalisation.
std::string escape_xml_text(std::string_view text);
std::string escape_xml_attribute(std::string_view text);

// One Markdown table cell: markup characters are backslash-escaped, HTML
// characters become entities, line breaks become spaces, so the cell cannot
// open a link, an image, a tag or a new row.
std::string escape_markdown_cell(std::string_view text);

// Inline code in Markdown outside tables (for replay commands): a fence
// longer than any run of backticks inside, and line breaks become spaces.
std::string markdown_code(std::string_view text);

// A Prometheus label value: \ " and LF escaped, other controls replaced.
std::string escape_prometheus_label(std::string_view text);

// Shortest form that reads back to the same double; "NaN", "+Inf", "-Inf"
// for the non-finite ones (Prometheus spells them so).
std::string format_real(double value);
// Four significant digits, for people: format_short(0.0615384) == "0.06154".
std::string format_short(double value);
// Fixed decimals, for people: format_fixed(0.96123, 2) == "0.96".
std::string format_fixed(double value, int decimals);
// "96.1%" from 0.961.
std::string format_percent(double fraction, int decimals = 1);
// "1.234 ms", "2.5 s", "3 m": a duration for people.
std::string format_duration_human(runtime::Duration d);
// Milliseconds as a double, the unit report.json uses.
double to_ms(runtime::Duration d);

}  // namespace faultline::reports::internal
