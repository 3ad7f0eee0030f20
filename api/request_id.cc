#include "api/request_id.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace loan_gateway::api {

std::string NewRequestId() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1)
    std::abort();  // No entropy: unsafe to go on.
  // The first 48 bits: the Unix time in milliseconds, big-endian.
  const auto ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  for (int i = 0; i < 6; ++i) {
    bytes[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  }
  bytes[6] = (bytes[6] & 0x0F) | 0x70;  // Version 7.
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // RFC 9562 variant.
  return UuidText(bytes);
}

std::string UuidText(const std::array<unsigned char, 16>& bytes) {
  const std::string hex = absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

}  // namespace loan_gateway::api
