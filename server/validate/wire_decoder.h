#ifndef LOAN_GATEWAY_SERVER_VALIDATE_WIRE_DECODER_H_
#define LOAN_GATEWAY_SERVER_VALIDATE_WIRE_DECODER_H_

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Parses a request's wire bytes into `message`. Protobuf refuses a proto3
// string holding invalid UTF-8 by failing the whole parse (gRPC then answers
// without details and libprotobuf prints to stderr); here every string field
// is checked first, so the caller hears INVALID_ARGUMENT with a BadRequest
// naming the field (INVALID_REQUEST), like any other bad input.
absl::Status DecodeRequest(absl::string_view wire,
                           google::protobuf::Message& message);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_VALIDATE_WIRE_DECODER_H_
