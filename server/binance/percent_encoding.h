#ifndef LOAN_GATEWAY_SERVER_BINANCE_PERCENT_ENCODING_H_
#define LOAN_GATEWAY_SERVER_BINANCE_PERCENT_ENCODING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ as %XX (uppercase
// hex), as Binance requires of signed payloads since 2026-01-15.
std::string PercentEncode(absl::string_view raw);

// name=value pairs joined with '&', names and values percent-encoded.
std::string EncodeParams(
    const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_PERCENT_ENCODING_H_
