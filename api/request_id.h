#ifndef LOAN_GATEWAY_API_REQUEST_ID_H_
#define LOAN_GATEWAY_API_REQUEST_ID_H_

#include <array>
#include <string>

namespace loan_gateway::api {

// A version 7 UUID (RFC 9562), lowercase: the Unix time in milliseconds,
// then 74 random bits from OpenSSL's CSPRNG. The request_id the gateway
// gives a call without one, and the client gives each borrow. Two must never
// collide (a collision would answer one borrow with another's outcome), so
// no seeded PRNG: 74 random bits within a millisecond, which also keep an id
// unguessable by another caller (the time it was made is not secret). In
// time order, so the journal's request_id indexes grow at their end: the
// borrows of one group commit share a leaf page there, where random
// (version 4) ids put each on a page of its own, read and written again
// (README, Performance).
std::string NewRequestId();

// 16 bytes as a UUID's text: lowercase hex, 8-4-4-4-12.
std::string UuidText(const std::array<unsigned char, 16>& bytes);

}  // namespace loan_gateway::api

#endif  // LOAN_GATEWAY_API_REQUEST_ID_H_
