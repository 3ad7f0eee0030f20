#include "error_report.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace loan_gateway::client {
namespace {

std::string CodeName(grpc::StatusCode code) {
  // gRPC and absl share the canonical codes and their names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace

ErrorReport DecodeError(const grpc::Status& status) {
  ErrorReport r;
  r.code = status.error_code();
  r.message = status.error_message();
  google::rpc::Status rpc;
  if (!rpc.ParseFromString(status.error_details())) return r;
  for (const auto& any : rpc.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    google::rpc::PreconditionFailure pre;
    google::rpc::QuotaFailure quota;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      r.reason = info.reason();
      if (!institutional_loan::v1::ErrorReason_Parse(r.reason,
                                                     &r.reason_code)) {
        r.reason_code = institutional_loan::v1::ERROR_REASON_UNSPECIFIED;
      }
      r.domain = info.domain();
      r.metadata.insert(info.metadata().begin(), info.metadata().end());
    } else if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations())
        r.bad_fields.emplace_back(v.field(), v.description());
    } else if (any.UnpackTo(&pre)) {
      for (const auto& v : pre.violations())
        r.preconditions.push_back(v.description());
    } else if (any.UnpackTo(&quota)) {
      for (const auto& v : quota.violations())
        r.quota.push_back(v.description());
    } else if (any.UnpackTo(&retry)) {
      r.retry_after_seconds =
          static_cast<double>(
              google::protobuf::util::TimeUtil::DurationToMilliseconds(
                  retry.retry_delay())) /
          1000;
    }
  }
  return r;
}

std::string FormatHuman(const ErrorReport& r) {
  std::string out =
      absl::StrCat("error: ", CodeName(r.code),
                   r.reason.empty() ? "" : absl::StrCat(" / ", r.reason), "\n",
                   "  ", r.message, "\n");
  for (const auto& [field, why] : r.bad_fields) {
    absl::StrAppend(&out, "  bad field ", field, ": ", why, "\n");
  }
  for (const auto& d : r.preconditions)
    absl::StrAppend(&out, "  precondition: ", d, "\n");
  for (const auto& d : r.quota) absl::StrAppend(&out, "  quota: ", d, "\n");
  if (r.retry_after_seconds) {
    absl::StrAppend(&out, "  retry after: ", *r.retry_after_seconds, " s\n");
  }
  for (const auto& [key, value] : r.metadata)
    absl::StrAppend(&out, "  ", key, ": ", value, "\n");
  if (r.may_have_executed) {
    absl::StrAppend(
        &out,
        "  the borrow may or may not have happened: do NOT resend it as a new "
        "borrow; look it up by its request_id (or repeat it with the same "
        "request_id)\n");
  }
  return out;
}

// Through protobuf's JSON printer (a Struct): one escaping for every string.
std::string FormatJson(const ErrorReport& r) {
  google::protobuf::Struct json;
  auto& fields = *json.mutable_fields();
  fields["code"].set_string_value(CodeName(r.code));
  fields["reason"].set_string_value(r.reason);
  fields["message"].set_string_value(r.message);
  auto& metadata = *fields["metadata"].mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : r.metadata) {
    metadata[key].set_string_value(value);
  }
  auto& bad_fields = *fields["bad_fields"].mutable_list_value();
  for (const auto& [field, why] : r.bad_fields) {
    auto& violation =
        *bad_fields.add_values()->mutable_struct_value()->mutable_fields();
    violation["field"].set_string_value(field);
    violation["description"].set_string_value(why);
  }
  if (r.retry_after_seconds) {
    fields["retry_after_seconds"].set_number_value(*r.retry_after_seconds);
  }
  fields["may_have_executed"].set_bool_value(r.may_have_executed);
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(json, &out);
  return out;
}

}  // namespace loan_gateway::client
