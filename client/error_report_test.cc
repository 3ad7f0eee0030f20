#include "error_report.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "loan_client.h"

namespace loan_gateway::client {
namespace {

grpc::Status Error(grpc::StatusCode code, const std::string& reason,
                   std::map<std::string, std::string> metadata = {},
                   int retry_seconds = -1) {
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(code));
  rpc.set_message("message");
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain("loan-gateway");
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  rpc.add_details()->PackFrom(info);
  if (retry_seconds >= 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(retry_seconds);
    rpc.add_details()->PackFrom(retry);
  }
  if (code == grpc::StatusCode::INVALID_ARGUMENT) {
    google::rpc::BadRequest bad;
    auto* v = bad.add_field_violations();
    v->set_field("amount");
    v->set_description("amount must not use an exponent");
    rpc.add_details()->PackFrom(bad);
  }
  return grpc::Status(code, rpc.message(), rpc.SerializeAsString());
}

TEST(ClassifyErrorTest, EachContractClassBecomesItsType) {
  using C = grpc::StatusCode;
  auto limit =
      ClassifyError(Error(C::FAILED_PRECONDITION, "BORROW_LIMIT_EXCEEDED",
                          {{"max_amount", "50000"}}));
  ASSERT_TRUE(std::holds_alternative<BorrowLimitExceeded>(limit.kind));
  EXPECT_EQ(std::get<BorrowLimitExceeded>(limit.kind).max_amount, "50000");
  EXPECT_EQ(ExitCodeFor(limit.kind), 4);

  auto unknown = ClassifyError(
      Error(C::UNKNOWN, "BORROW_OUTCOME_UNKNOWN", {{"request_id", "r1"}}));
  ASSERT_TRUE(std::holds_alternative<OutcomeUnknown>(unknown.kind));
  EXPECT_EQ(std::get<OutcomeUnknown>(unknown.kind).request_id, "r1");
  EXPECT_EQ(ExitCodeFor(unknown.kind), 5);

  auto limited = ClassifyError(
      Error(C::RESOURCE_EXHAUSTED, "UPSTREAM_RATE_LIMITED", {}, 7));
  ASSERT_TRUE(std::holds_alternative<RateLimited>(limited.kind));
  EXPECT_EQ(std::get<RateLimited>(limited.kind).retry_after, absl::Seconds(7));

  auto invalid = ClassifyError(Error(C::INVALID_ARGUMENT, "INVALID_REQUEST"));
  ASSERT_TRUE(std::holds_alternative<InvalidArgument>(invalid.kind));
  EXPECT_EQ(std::get<InvalidArgument>(invalid.kind).fields.at(0).first,
            "amount");
  EXPECT_EQ(ExitCodeFor(invalid.kind), 3);

  EXPECT_TRUE(std::holds_alternative<Unavailable>(
      ClassifyError(Error(C::UNAVAILABLE, "UPSTREAM_BANNED", {}, 120)).kind));
  EXPECT_TRUE(std::holds_alternative<PreviousTransactionPending>(
      ClassifyError(Error(C::ABORTED, "PREVIOUS_TRANSACTION_PENDING", {}, 2))
          .kind));
  EXPECT_TRUE(std::holds_alternative<RiskUnitNotFound>(
      ClassifyError(Error(C::NOT_FOUND, "RISK_UNIT_NOT_FOUND")).kind));
  EXPECT_TRUE(std::holds_alternative<CredentialsRejected>(
      ClassifyError(Error(C::INTERNAL, "UPSTREAM_CREDENTIALS_REJECTED")).kind));
  EXPECT_TRUE(std::holds_alternative<RequestIdConflict>(
      ClassifyError(Error(C::ALREADY_EXISTS, "REQUEST_ID_CONFLICT")).kind));
  EXPECT_TRUE(std::holds_alternative<FailedPrecondition>(
      ClassifyError(Error(C::FAILED_PRECONDITION, "LTV_TOO_HIGH")).kind));
}

TEST(ClassifyErrorTest, AFailureWithoutTheGatewaysErrorInfoMayHaveExecuted) {
  using C = grpc::StatusCode;
  // The gateway killed mid-call, a drain that ran out, the caller's deadline:
  // gRPC's own statuses, with no ErrorInfo. Only the journal knows then.
  for (C code : {C::UNAVAILABLE, C::DEADLINE_EXCEEDED, C::CANCELLED,
                 C::INTERNAL, C::UNKNOWN, C::RESOURCE_EXHAUSTED}) {
    BorrowError e = ClassifyError(grpc::Status(code, "Socket closed"));
    ASSERT_TRUE(std::holds_alternative<OutcomeUnknown>(e.kind)) << code;
    EXPECT_TRUE(e.report.may_have_executed);
    EXPECT_EQ(ExitCodeFor(e.kind), 5);
    EXPECT_NE(FormatJson(e.report).find("\"may_have_executed\":true"),
              std::string::npos);
    EXPECT_NE(FormatHuman(e.report).find("may or may not have happened"),
              std::string::npos);
  }
  // Codes that cannot follow a request reaching Borrow stay what they are.
  for (C code : {C::INVALID_ARGUMENT, C::UNIMPLEMENTED, C::UNAUTHENTICATED,
                 C::PERMISSION_DENIED}) {
    BorrowError e = ClassifyError(grpc::Status(code, "no"));
    EXPECT_FALSE(e.report.may_have_executed) << code;
    EXPECT_FALSE(std::holds_alternative<OutcomeUnknown>(e.kind)) << code;
  }
  // The gateway's own UNAVAILABLE (with ErrorInfo) means nothing executed.
  BorrowError banned =
      ClassifyError(Error(C::UNAVAILABLE, "UPSTREAM_BANNED", {}, 120));
  EXPECT_FALSE(banned.report.may_have_executed);
}

TEST(DecodeErrorTest, HumanAndJsonOutput) {
  ErrorReport r =
      DecodeError(Error(grpc::StatusCode::FAILED_PRECONDITION,
                        "BORROW_LIMIT_EXCEEDED", {{"max_amount", "50000"}}));
  EXPECT_NE(FormatHuman(r).find("max_amount: 50000"), std::string::npos);
  EXPECT_NE(FormatJson(r).find("\"reason\":\"BORROW_LIMIT_EXCEEDED\""),
            std::string::npos);
  EXPECT_EQ(r.reason_code, institutional_loan::v1::BORROW_LIMIT_EXCEEDED);
  EXPECT_EQ(DecodeError(Error(grpc::StatusCode::FAILED_PRECONDITION,
                              "A_REASON_FROM_A_NEWER_GATEWAY", {}))
                .reason_code,
            institutional_loan::v1::ERROR_REASON_UNSPECIFIED);
  ErrorReport bare =
      DecodeError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(bare.message, "down");
  EXPECT_TRUE(bare.reason.empty());
  EXPECT_EQ(bare.reason_code, institutional_loan::v1::ERROR_REASON_UNSPECIFIED);
}

TEST(NewRequestIdTest, IsAVersion7Uuid) {
  const std::string id = NewRequestId();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_NE(NewRequestId(), id);
}

// Any text survives the JSON form: it parses back to the same strings.
TEST(FormatJsonTest, IsJsonWhateverTheText) {
  ErrorReport r;
  r.message = "a \"quoted\"\nline\\ and \x01";
  r.metadata["max_amount"] = "48999.5";
  r.bad_fields.emplace_back("amount", "must be > 0");
  r.retry_after_seconds = 1.5;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(FormatJson(r), &parsed).ok())
      << FormatJson(r);
  EXPECT_EQ(parsed.fields().at("message").string_value(), r.message);
  EXPECT_EQ(parsed.fields()
                .at("metadata")
                .struct_value()
                .fields()
                .at("max_amount")
                .string_value(),
            "48999.5");
  EXPECT_EQ(parsed.fields().at("retry_after_seconds").number_value(), 1.5);
  EXPECT_FALSE(parsed.fields().at("may_have_executed").bool_value());
}

}  // namespace
}  // namespace loan_gateway::client
