#ifndef LOAN_GATEWAY_SERVER_PROTO_TIME_PROTO_TIME_H_
#define LOAN_GATEWAY_SERVER_PROTO_TIME_PROTO_TIME_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <cstdint>

#include "absl/time/time.h"

// Between protobuf's well-known time types and absl's, through protobuf's own
// TimeUtil (it normalises seconds and nanos and clamps to the valid range).
namespace loan_gateway {

inline absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Nanoseconds(
      google::protobuf::util::TimeUtil::DurationToNanoseconds(d));
}

inline google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(d));
}

inline google::protobuf::Timestamp TimestampFromUnixMillis(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

inline google::protobuf::Timestamp ToProtoTimestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(t));
}

inline absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(
      google::protobuf::util::TimeUtil::TimestampToNanoseconds(t));
}

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_PROTO_TIME_PROTO_TIME_H_
