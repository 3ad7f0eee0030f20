#ifndef LOAN_GATEWAY_SERVER_IDENTITY_SAME_CALLER_H_
#define LOAN_GATEWAY_SERVER_IDENTITY_SAME_CALLER_H_

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {

// How a caller without a certificate (--insecure_plaintext) is named: this,
// then its address, so that no log or journal line mistakes it for an
// authenticated one.
inline constexpr absl::string_view kInsecureCallerPrefix = "insecure:";

// Whether two callers, as the journal records them, are one: the same
// identity. Callers without one are all the same unnamed caller: an address
// is not an identity, and a repeat from a new connection must still find its
// borrow. (Header-only so that the journal can ask it too.)
inline bool SameCaller(absl::string_view a, absl::string_view b) {
  return a == b || (absl::StartsWith(a, kInsecureCallerPrefix) &&
                    absl::StartsWith(b, kInsecureCallerPrefix));
}

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_IDENTITY_SAME_CALLER_H_
