#include "sign/process_hardening.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace loan_gateway {

absl::Status HardenProcessForSecrets(size_t secure_heap_bytes) {
  const rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return absl::InternalError(
        absl::StrCat("setrlimit(RLIMIT_CORE): ", std::strerror(errno)));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("prctl(PR_SET_DUMPABLE): ", std::strerror(errno)));
  }
  // 0: failed (e.g. mlock refused by RLIMIT_MEMLOCK); OpenSSL then uses its
  // ordinary heap, which the two settings above still keep out of dumps.
  if (CRYPTO_secure_malloc_init(secure_heap_bytes, 32) == 0) {
    return absl::ResourceExhaustedError(
        "OpenSSL's secure heap could not be set up (RLIMIT_MEMLOCK?); core "
        "dumps are off nonetheless");
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
