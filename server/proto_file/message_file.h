#ifndef LOAN_GATEWAY_SERVER_PROTO_FILE_MESSAGE_FILE_H_
#define LOAN_GATEWAY_SERVER_PROTO_FILE_MESSAGE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace loan_gateway {

// Reads a protobuf message an operator wrote (the --config file, the
// --policy_file) with protobuf's own parsers: JSON when the name ends in
// .json or the text starts with '{', text format otherwise. An error starts
// with `what` and the path and names the first mistake (its line and column
// in text format).
absl::Status ReadMessageFile(const std::string& what, const std::string& path,
                             google::protobuf::Message& out);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_PROTO_FILE_MESSAGE_FILE_H_
