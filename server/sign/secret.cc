#include "sign/secret.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"

namespace loan_gateway {

Secret::Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.Wipe();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.Wipe();
  }
  return *this;
}

Secret::~Secret() { Wipe(); }

void Secret::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

absl::StatusOr<Secret> Secret::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read secret file " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = std::move(buffer).str();
  while (!bytes.empty() &&
         absl::ascii_isspace(static_cast<unsigned char>(bytes.back()))) {
    bytes.pop_back();
  }
  if (bytes.empty())
    return absl::InvalidArgumentError("secret file is empty: " + path);
  return Secret(std::move(bytes));
}

}  // namespace loan_gateway
