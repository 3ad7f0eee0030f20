#include "api/request_id.h"

#include <openssl/rand.h>

#include <array>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace loan_gateway::api {

std::string NewRequestId() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1)
    std::abort();                       // No entropy: unsafe to go on.
  bytes[6] = (bytes[6] & 0x0F) | 0x40;  // Version 4.
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // RFC 4122 variant.
  const std::string hex = absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

}  // namespace loan_gateway::api
