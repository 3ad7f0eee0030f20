#ifndef LOAN_GATEWAY_SERVER_LOG_UTF8_H_
#define LOAN_GATEWAY_SERVER_LOG_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace loan_gateway {

// One step through possibly malformed UTF-8.
struct Utf8Unit {
  // Bytes this unit takes: a whole well-formed character, or the maximal
  // ill-formed subpart (Unicode 15, §3.9, "U+FFFD substitution of maximal
  // subparts"), which a reader replaces with one U+FFFD. Never 0 for a
  // non-empty text.
  size_t size = 0;
  bool valid = false;
  char32_t code_point = 0;  // Meaningful only when `valid`.
};

// The unit at the start of `text` (which must not be empty). Overlong forms,
// surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation
// bytes, the bytes C0, C1, F5..FF and sequences cut short are all invalid.
Utf8Unit NextUtf8Unit(absl::string_view text);

// The longest prefix of `text` of at most `max_bytes` bytes that does not end
// inside a character: cutting a caller's value to a size with substr() can
// split a multi-byte character and turn valid UTF-8 into invalid UTF-8.
// Invalid bytes in `text` are kept as they are (JsonQuote replaces them).
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

// `text` cut to at most `max_bytes` (on a character boundary) with every
// invalid unit replaced by U+FFFD: what a format that must be valid UTF-8
// (protobuf's JSON, the audit trail) can hold of a caller's value.
std::string ValidUtf8(absl::string_view text, size_t max_bytes);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_LOG_UTF8_H_
