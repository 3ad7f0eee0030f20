#ifndef LOAN_GATEWAY_SERVER_SERVICE_REQUEST_ID_H_
#define LOAN_GATEWAY_SERVER_SERVICE_REQUEST_ID_H_

#include <string>

namespace loan_gateway {

// A random (version 4) UUID from OpenSSL's CSPRNG, lowercase.
std::string GenerateRequestId();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_REQUEST_ID_H_
