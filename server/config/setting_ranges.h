#ifndef LOAN_GATEWAY_SERVER_CONFIG_SETTING_RANGES_H_
#define LOAN_GATEWAY_SERVER_CONFIG_SETTING_RANGES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "config/setting_fields.h"

namespace loan_gateway {

// The first integer or duration setting outside the [min, max] its field's
// options give, as an InvalidArgument naming the flag, the range and the
// value (each bound's reason is a comment in gateway_config.proto).
absl::Status ValidateSettingRanges(const GatewayConfig& c);

// The rules that tie settings together or look beyond the value: URLs,
// paths, the key type, the CA file, the timeout within the drain.
absl::Status ValidateSettingRelations(const GatewayConfig& c);

// A CA bundle or certificate that is missing or holds no PEM certificate
// would let the gateway start and then fail every TLS handshake. `flag`
// names the setting in the error.
absl::Status ValidateCertificateFile(absl::string_view flag,
                                     const std::string& path);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_SETTING_RANGES_H_
