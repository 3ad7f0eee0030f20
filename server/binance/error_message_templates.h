#ifndef LOAN_GATEWAY_SERVER_BINANCE_ERROR_MESSAGE_TEMPLATES_H_
#define LOAN_GATEWAY_SERVER_BINANCE_ERROR_MESSAGE_TEMPLATES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

// Matches `msg` against a message template of Binance's error-code reference
// ("Maximum borrowable for asset {0} is {1}, but request {2}."): every
// literal part must match exactly; each placeholder captures the non-empty
// text up to the next literal. Returns the captures by placeholder number,
// or nullopt when the text is not that template.
std::optional<std::map<int, std::string>> MatchMessageTemplate(
    absl::string_view message_template, absl::string_view msg);

// Figures Binance states in a borrow error, read only from its documented
// message templates (English and Chinese) and only when every figure parses
// (amounts as exact decimals, assets as Binance asset names). The gateway
// never guesses a number out of free text: a message that does not match a
// template yields no figure.
struct StatedFigures {
  std::string asset;        // -27009 {0}, -27012 {1}
  std::string max_amount;   // -27009 {1}: the most that may be borrowed
  std::string requested;    // -27009 {2}, -27012 {2}
  std::string available;    // -27012 {3}: available margin
  std::string ltv;          // -27020 {1}
  std::string initial_ltv;  // -27020 {2}: the threshold
};
std::optional<StatedFigures> ReadStatedFigures(int64_t code,
                                               absl::string_view msg);

// The documented templates, by code (the fake answers with these too).
const std::vector<std::string>& DocumentedTemplates(int64_t code);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_ERROR_MESSAGE_TEMPLATES_H_
