#ifndef LOAN_GATEWAY_SERVER_VALIDATE_DECIMAL_H_
#define LOAN_GATEWAY_SERVER_VALIDATE_DECIMAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {

// An exact, positive decimal amount kept as text. It is never converted to a
// floating-point number: amounts move money and must keep every digit.
class Decimal {
 public:
  static constexpr int kMaxIntegerDigits = 20;
  static constexpr int kMaxFractionDigits = 8;

  // Parses the gateway's amount syntax: digits, optionally "." and 1..8
  // digits; no sign, exponent, whitespace or leading zeros; greater than zero;
  // at most 20 integer digits. The error message says what is wrong.
  static absl::StatusOr<Decimal> Parse(absl::string_view text);

  // Parses an amount as Binance may send it back: like Parse, but any number
  // of fraction digits and zero are allowed (trailing zeros are kept).
  static absl::StatusOr<Decimal> ParseUpstream(absl::string_view text);

  const std::string& text() const { return text_; }

  // Whether two amounts as text are the same number ("1000.5" and
  // "1000.50000000", "10" and "10.0"): leading zeros, trailing fraction zeros
  // and surrounding whitespace (a raw JSON number token keeps what follows
  // it) do not count. An empty text is no number.
  static bool SameNumber(absl::string_view a, absl::string_view b);
  friend bool operator==(const Decimal& a, const Decimal& b) {
    return SameNumber(a.text_, b.text_);
  }

 private:
  explicit Decimal(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_VALIDATE_DECIMAL_H_
