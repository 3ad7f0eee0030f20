#ifndef LOAN_GATEWAY_SERVER_SIGN_SECRET_H_
#define LOAN_GATEWAY_SERVER_SIGN_SECRET_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {

// Holds key material. It cannot be copied, printed or formatted (every
// printing path shows "[redacted]"), and its bytes are wiped with
// OPENSSL_cleanse when it is destroyed.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string bytes) : bytes_(std::move(bytes)) {}
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  // Reads a whole file; trailing whitespace (a final newline) is dropped.
  // Errors name the path, never the content.
  static absl::StatusOr<Secret> FromFile(const std::string& path);

  // The raw bytes, for the code that must use them (signing, the key header).
  absl::string_view Reveal() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }

  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Secret&) {
    sink.Append("[redacted]");
  }
  friend std::ostream& operator<<(std::ostream& os, const Secret&) {
    return os << "[redacted]";
  }

 private:
  void Wipe();
  std::string bytes_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SIGN_SECRET_H_
