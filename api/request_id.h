#ifndef LOAN_GATEWAY_API_REQUEST_ID_H_
#define LOAN_GATEWAY_API_REQUEST_ID_H_

#include <string>

namespace loan_gateway::api {

// A random (version 4) UUID from OpenSSL's CSPRNG, lowercase: the request_id
// the gateway gives a call without one, and the client gives each borrow.
// Two must never collide (a collision would answer one borrow with another's
// outcome), so no seeded PRNG.
std::string NewRequestId();

}  // namespace loan_gateway::api

#endif  // LOAN_GATEWAY_API_REQUEST_ID_H_
