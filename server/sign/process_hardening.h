#ifndef LOAN_GATEWAY_SERVER_SIGN_PROCESS_HARDENING_H_
#define LOAN_GATEWAY_SERVER_SIGN_PROCESS_HARDENING_H_

#include <cstddef>

#include "absl/status/status.h"

namespace loan_gateway {

// Keeps key material out of reach of anything but this process, before any
// secret is read: no core dumps (RLIMIT_CORE 0) and not dumpable, so neither
// a crash nor another process of the same user (/proc/PID/mem, ptrace)
// carries the key away; and OpenSSL's secure heap (locked in memory,
// excluded from dumps) for the private key OpenSSL holds.
absl::Status HardenProcessForSecrets(size_t secure_heap_bytes = size_t{64}
                                                                << 10);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SIGN_PROCESS_HARDENING_H_
