#ifndef LOAN_GATEWAY_SERVER_CONFIG_SETTING_RANGES_H_
#define LOAN_GATEWAY_SERVER_CONFIG_SETTING_RANGES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "config/gateway_config.h"

namespace loan_gateway {

// The range every numeric or duration setting must lie in, as one table: a
// value outside it stops the start (exit 2) with the flag, the range and the
// value. Each bound says why in setting_ranges.cc.
struct SettingRange {
  std::string flag;
  std::string range;  // "[min, max]" as the operator would write it.
  bool ok = true;
  std::string value;
};
std::vector<SettingRange> CheckSettingRanges(const GatewayConfig& c);

// The first setting out of range, or the first broken relation between two
// settings, as an InvalidArgument naming it.
absl::Status ValidateSettingRanges(const GatewayConfig& c);

// A CA bundle that is missing or holds no PEM certificate would let the
// gateway start and then fail every TLS handshake.
absl::Status ValidateCaFile(const std::string& path);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_SETTING_RANGES_H_
