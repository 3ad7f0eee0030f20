// The error contract, row by row: each Binance answer and network fault the
// fake can produce, through the real gateway, with the gRPC code, reason and
// details the contract names, and the fake's ledger proving whether the borrow
// executed and that nothing was resent.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway_env.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

enum class Extra { kNone, kPrecondition, kQuota };

struct ContractRow {
  std::string name;
  std::string fault;  // JSON for /fake/faults; empty: none.
  grpc::StatusCode code;
  std::string reason;
  int retry_seconds;  // -1: no RetryInfo allowed.
  Extra extra;
  size_t executed;   // Borrows in the fake's ledger afterwards.
  int64_t requests;  // Complete borrow requests the fake received.
  int64_t group = 1001;
  std::string amount = "10";
  std::vector<std::string> gateway_args = {};
};

void PrintTo(const ContractRow& row, std::ostream* os) { *os << row.name; }

std::string Fault(int status, int code, const std::string& more = "") {
  return absl::StrCat(R"({"status":)", status, R"(,"code":)", code,
                      R"(,"msg":"injected )", code, R"(")", more, "}");
}

class ErrorContractTest : public ::testing::TestWithParam<ContractRow> {};

TEST_P(ErrorContractTest, AnswersAsTheContractSays) {
  const ContractRow& row = GetParam();
  GatewayEnv env({.gateway_args = row.gateway_args});
  if (!row.fault.empty()) env.InjectFault(row.fault);
  BorrowResponse response;
  BorrowRequest request = MakeBorrow(row.group, row.amount);
  request.set_request_id("0b7e2c64-8c1d-4a53-9d6e-6f1f2a3b4c5d");
  grpc::Status status = env.Borrow(request, &response);
  ASSERT_EQ(status.error_code(), row.code) << status.error_message();

  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  google::rpc::ErrorInfo info;
  bool has_retry = false, has_precondition = false, has_quota = false;
  google::rpc::RetryInfo retry;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) any.UnpackTo(&info);
    if (any.Is<google::rpc::RetryInfo>()) has_retry = any.UnpackTo(&retry);
    has_precondition |= any.Is<google::rpc::PreconditionFailure>();
    has_quota |= any.Is<google::rpc::QuotaFailure>();
  }
  EXPECT_EQ(info.reason(), row.reason);
  EXPECT_EQ(info.domain(), "loan-gateway");
  EXPECT_EQ(info.metadata().at("request_id"),
            "0b7e2c64-8c1d-4a53-9d6e-6f1f2a3b4c5d");
  if (row.retry_seconds < 0) {
    EXPECT_FALSE(has_retry) << "RetryInfo where waiting does not help";
  } else {
    ASSERT_TRUE(has_retry);
    EXPECT_EQ(retry.retry_delay().seconds(), row.retry_seconds);
  }
  EXPECT_EQ(has_precondition, row.extra == Extra::kPrecondition);
  EXPECT_EQ(has_quota, row.extra == Extra::kQuota);
  if (row.code == grpc::StatusCode::UNKNOWN) {
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(info.metadata().at("outcome"), "UNKNOWN");
  }
  std::this_thread::sleep_for(
      std::chrono::milliseconds(row.name == "timeout" ? 2500 : 0));
  FakeState state = env.State();
  EXPECT_EQ(state.borrows.size(), row.executed);
  EXPECT_EQ(state.received_borrow, row.requests)
      << "a borrow was resent or lost";
}

using C = grpc::StatusCode;
const Extra kPre = Extra::kPrecondition;
const Extra kNo = Extra::kNone;

INSTANTIATE_TEST_SUITE_P(
    EveryRow, ErrorContractTest,
    ::testing::Values(
        ContractRow{"limit_27009_real", "", C::FAILED_PRECONDITION,
                    "BORROW_LIMIT_EXCEEDED", -1, kPre, 0, 1, 1002, "100.5"},
        ContractRow{"margin_27012", Fault(400, -27012), C::FAILED_PRECONDITION,
                    "INSUFFICIENT_MARGIN", -1, kPre, 0, 1},
        ContractRow{"ltv_27020", Fault(400, -27020), C::FAILED_PRECONDITION,
                    "LTV_TOO_HIGH", -1, kPre, 0, 1},
        ContractRow{"liquidation_27024", Fault(400, -27024),
                    C::FAILED_PRECONDITION, "RISK_UNIT_IN_LIQUIDATION", -1,
                    kPre, 0, 1},
        ContractRow{"liquidation_1024", Fault(400, -1024),
                    C::FAILED_PRECONDITION, "RISK_UNIT_IN_LIQUIDATION", -1,
                    kPre, 0, 1},
        ContractRow{"not_found_27001_real", "", C::NOT_FOUND,
                    "RISK_UNIT_NOT_FOUND", -1, kNo, 0, 1, 424242},
        ContractRow{"not_found_27010", Fault(400, -27010), C::NOT_FOUND,
                    "RISK_UNIT_NOT_FOUND", -1, kNo, 0, 1},
        ContractRow{"pending_27025", Fault(400, -27025), C::ABORTED,
                    "PREVIOUS_TRANSACTION_PENDING", 2, kNo, 0, 1},
        ContractRow{"pending_1025", Fault(400, -1025), C::ABORTED,
                    "PREVIOUS_TRANSACTION_PENDING", 2, kNo, 0, 1},
        ContractRow{"pending_3007", Fault(400, -3007), C::ABORTED,
                    "PREVIOUS_TRANSACTION_PENDING", 2, kNo, 0, 1},
        ContractRow{"rate_limit_429",
                    Fault(429, -1003, R"(,"headers":{"Retry-After":"7"})"),
                    C::RESOURCE_EXHAUSTED, "UPSTREAM_RATE_LIMITED", 7,
                    Extra::kQuota, 0, 1},
        ContractRow{"too_many_1003_no_retry_after", Fault(400, -1003),
                    C::RESOURCE_EXHAUSTED, "UPSTREAM_RATE_LIMITED", 60,
                    Extra::kQuota, 0, 1},
        ContractRow{"ip_ban_418",
                    Fault(418, -1003, R"(,"headers":{"Retry-After":"120"})"),
                    C::UNAVAILABLE, "UPSTREAM_BANNED", 120, kNo, 0, 1},
        ContractRow{"waf_403_html", R"({"status":403,"html":true})",
                    C::UNAVAILABLE, "UPSTREAM_BANNED", 300, kNo, 0, 1},
        ContractRow{"signature_1022", Fault(400, -1022), C::INTERNAL,
                    "UPSTREAM_CREDENTIALS_REJECTED", -1, kNo, 0, 1},
        ContractRow{"key_2014", Fault(401, -2014), C::INTERNAL,
                    "UPSTREAM_CREDENTIALS_REJECTED", -1, kNo, 0, 1},
        ContractRow{"key_2015", Fault(401, -2015), C::INTERNAL,
                    "UPSTREAM_CREDENTIALS_REJECTED", -1, kNo, 0, 1},
        ContractRow{"unauthorized_1002", Fault(401, -1002), C::INTERNAL,
                    "UPSTREAM_CREDENTIALS_REJECTED", -1, kNo, 0, 1},
        ContractRow{"http_500_executed",
                    Fault(500, -1000, R"(,"execute":true)"), C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 1, 1},
        ContractRow{"http_502_empty", R"({"status":502})", C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{
            "http_503_executed",
            R"({"status":503,"body":"Service Unavailable","execute":true})",
            C::UNKNOWN, "BORROW_OUTCOME_UNKNOWN", -1, kNo, 1, 1},
        ContractRow{"http_504_with_limit_code", Fault(504, -27009), C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{"code_1000_on_400", Fault(400, -1000), C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{"code_1001", Fault(400, -1001), C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{"code_1006", Fault(400, -1006, R"(,"execute":true)"),
                    C::UNKNOWN, "BORROW_OUTCOME_UNKNOWN", -1, kNo, 1, 1},
        ContractRow{"code_1007", Fault(408, -1007), C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{"code_3000", Fault(400, -3000), C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{"precision_27016", Fault(400, -27016), C::INVALID_ARGUMENT,
                    "BINANCE_ERROR", -1, kNo, 0, 1},
        ContractRow{"precision_1111", Fault(400, -1111), C::INVALID_ARGUMENT,
                    "BINANCE_ERROR", -1, kNo, 0, 1},
        ContractRow{"asset_27017", Fault(400, -27017), C::INVALID_ARGUMENT,
                    "BINANCE_ERROR", -1, kNo, 0, 1},
        ContractRow{"parameter_1105", Fault(400, -1105), C::INVALID_ARGUMENT,
                    "BINANCE_ERROR", -1, kNo, 0, 1},
        ContractRow{"borrow_failed_27023", Fault(400, -27023),
                    C::FAILED_PRECONDITION, "BINANCE_ERROR", -1, kPre, 0, 1},
        ContractRow{"collateral_block_27031", Fault(400, -27031),
                    C::FAILED_PRECONDITION, "BINANCE_ERROR", 120, kPre, 0, 1},
        ContractRow{"unlisted_code", Fault(400, -99999), C::FAILED_PRECONDITION,
                    "BINANCE_ERROR", -1, kPre, 0, 1},
        ContractRow{"html_400", R"({"status":400,"html":true})",
                    C::FAILED_PRECONDITION, "BINANCE_ERROR", -1, kPre, 0, 1},
        ContractRow{"redirect_301",
                    R"({"status":301,"headers":{"Location":"https://x"}})",
                    C::UNKNOWN, "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{
            "malformed_200",
            R"({"status":200,"body":"{\"transactionId\":","execute":true})",
            C::UNKNOWN, "BORROW_OUTCOME_UNKNOWN", -1, kNo, 1, 1},
        ContractRow{"html_200", R"({"status":200,"html":true,"execute":true})",
                    C::UNKNOWN, "BORROW_OUTCOME_UNKNOWN", -1, kNo, 1, 1},
        ContractRow{"reset_after_executing",
                    R"({"reset":"after_read","execute":true})", C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 1, 1},
        ContractRow{"reset_after_read_not_executed",
                    R"({"reset":"after_read"})", C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN", -1, kNo, 0, 1},
        ContractRow{"timeout",
                    R"({"delay_ms":2000})",
                    C::UNKNOWN,
                    "BORROW_OUTCOME_UNKNOWN",
                    -1,
                    kNo,
                    1,
                    1,
                    1001,
                    "10",
                    {"--upstream_timeout=1s"}},
        ContractRow{"clock_1021_twice", Fault(400, -1021, R"(,"count":2)"),
                    C::UNAVAILABLE, "CLOCK_SKEW", 1, kNo, 0, 2}),
    [](const auto& info) { return info.param.name; });

TEST(ClockTest, A1021IsResyncedAndReSignedOnceThenSucceeds) {
  GatewayEnv env;
  env.InjectFault(Fault(400, -1021));
  BorrowResponse response;
  grpc::Status status = env.Borrow(MakeBorrow(1001, "3"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  FakeState state = env.State();
  EXPECT_EQ(state.received_borrow, 2);
  EXPECT_EQ(state.borrows.size(), 1u);
  EXPECT_GE(state.received_time, 2)
      << "the clock was resynced before re-signing";
}

// Binance not reachable when the gateway starts (a pod whose egress is not
// ready yet): health says NOT_SERVING while it cannot sign, and borrows work
// about a second after Binance first answers, not a resync interval later.
TEST(ClockTest, StartedBeforeBinanceAnswersItServesWithinASecondOfIt) {
  GatewayEnv env({.fake_args = {"--listen-after-ms", "4000"}});
  const absl::Time fake_started = absl::Now();
  auto health = [&] { return RunCommand(env.Loanctl({"health"})).exit_code; };
  EXPECT_EQ(health(), 6) << "NOT_SERVING while Binance's time is unknown";
  BorrowResponse response;
  grpc::Status early = env.Borrow(MakeBorrow(1001, "1"), &response);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::UNAVAILABLE);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(early.error_details()));
  google::rpc::ErrorInfo info;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) any.UnpackTo(&info);
  }
  EXPECT_EQ(info.reason(), "UPSTREAM_UNREACHABLE") << early.error_message();
  // When does the fake answer? Poll its port.
  absl::Time answering = absl::InfiniteFuture();
  while (absl::Now() - fake_started < absl::Seconds(10)) {
    try {
      env.FakeRequest("/api/v3/time");
      answering = absl::Now();
      break;
    } catch (const std::runtime_error&) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  ASSERT_NE(answering, absl::InfiniteFuture());
  absl::Duration until_borrow = absl::InfiniteDuration();
  while (absl::Now() - answering < absl::Seconds(5)) {
    BorrowResponse ok;
    if (env.Borrow(MakeBorrow(1001, "1"), &ok).ok()) {
      until_borrow = absl::Now() - answering;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf("first borrow %s after Binance first answered\n",
              absl::FormatDuration(until_borrow).c_str());
  EXPECT_LE(until_borrow, absl::Milliseconds(1500));
  int serving = health();  // Health is looked at every 250 ms.
  for (int i = 0; i < 20 && serving != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    serving = health();
  }
  EXPECT_EQ(serving, 0) << "SERVING once it can sign";
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), R"("condition":"clock")"));
}

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  rpc.ParseFromString(status.error_details());
  google::rpc::ErrorInfo info;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) any.UnpackTo(&info);
  }
  return info.reason();
}

int HealthExitCode(const GatewayEnv& env) {
  return RunCommand(env.Loanctl({"health"})).exit_code;
}

// Health means "can borrow": a base URL with a path answers 404, so health
// is NOT_SERVING from the start, the log and a metric say why, and a caller
// hears UPSTREAM_UNREACHABLE with the 404, not CLOCK_SKEW.
TEST(HealthTest, ABaseUrlWithAPathIsNotServingAndSaysWhy) {
  GatewayEnv env({.upstream_path = "/api"});
  EXPECT_EQ(HealthExitCode(env), 6);
  BorrowResponse response;
  grpc::Status s = env.Borrow(MakeBorrow(1001, "1"), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(s), "UPSTREAM_UNREACHABLE") << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "HTTP 404"))
      << s.error_message();
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "upstream_not_ready"));
  EXPECT_TRUE(absl::StrContains(env.ScrapeMetrics(),
                                "\nloan_gateway_upstream_ready 0\n"));
  EXPECT_EQ(env.State().received_borrow, 0);
}

// A key Binance refuses: NOT_SERVING before any borrow, with Binance's code.
TEST(HealthTest, AKeyBinanceRefusesIsNotServingAndSaysWhy) {
  GatewayEnv env;
  EXPECT_EQ(HealthExitCode(env), 0);
  EXPECT_TRUE(absl::StrContains(env.ScrapeMetrics(),
                                "\nloan_gateway_upstream_ready 1\n"));
  const std::string key = env.dir() + "/api_key";
  std::ofstream(key) << "another-key-binance-does-not-know\n";
  std::filesystem::permissions(key, std::filesystem::perms::owner_read |
                                        std::filesystem::perms::owner_write);
  env.RestartGateway();
  EXPECT_EQ(HealthExitCode(env), 6);
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "Binance code -2015"))
      << env.GatewayLog();
}

TEST(ClockTest, BinanceClockJumpingAfterStartIsFollowedThroughResync) {
  GatewayEnv env;
  env.FakeRequest("/fake/config", R"({"skew_ms":20000})");
  BorrowResponse response;
  grpc::Status status = env.Borrow(MakeBorrow(1001, "3"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(env.State().received_borrow, 2)
      << "one -1021, one re-signed success";
}

TEST(BudgetTest, ExhaustedWeightIsRefusedLocallyWithQuotaFailure) {
  GatewayEnv env({.gateway_args = {"--uid_weight_limit=9000"}});
  BorrowResponse response;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  grpc::Status status = env.Borrow(MakeBorrow(1001, "1"), &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  bool quota = false, retry = false;
  for (const auto& any : rpc.details()) {
    quota |= any.Is<google::rpc::QuotaFailure>();
    retry |= any.Is<google::rpc::RetryInfo>();
  }
  EXPECT_TRUE(quota);
  EXPECT_TRUE(retry);
  EXPECT_EQ(env.State().received_borrow, 3)
      << "nothing sent once the budget is spent";
}

TEST(BudgetTest, BinanceReportedWeightCorrectsTheLocalCount) {
  GatewayEnv env;
  env.InjectFault(R"({"headers":{"X-SAPI-USED-UID-WEIGHT-1M":"180000"}})");
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  grpc::Status status = env.Borrow(MakeBorrow(1001, "1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(env.State().received_borrow, 1);
}

TEST(BreakerTest, BanHoldsEveryBorrowUntilRetryAfterThenLetsThrough) {
  GatewayEnv env;
  env.InjectFault(Fault(418, -1003, R"(,"headers":{"Retry-After":"2"})"));
  BorrowResponse response;
  EXPECT_EQ(env.Borrow(MakeBorrow(1001, "1"), &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  for (int i = 0; i < 3; ++i) {
    grpc::Status held = env.Borrow(MakeBorrow(1001, "1"), &response);
    EXPECT_EQ(held.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_TRUE(absl::StrContains(held.error_message(), "held by the gateway"));
  }
  EXPECT_EQ(env.State().received_borrow, 1)
      << "nothing sent while the breaker is open";
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  EXPECT_EQ(env.State().received_borrow, 2);
}

TEST(DeadlineTest, CallerLeavingAfterSendDoesNotAbortTheExchange) {
  GatewayEnv env;
  env.InjectFault(R"({"delay_ms":1500})");
  BorrowResponse response;
  BorrowRequest request = MakeBorrow(1001, "6");
  request.set_request_id("5d1c9a5e-2f43-4b8e-8c11-0d2e3f4a5b6c");
  grpc::Status status =
      env.Borrow(request, &response, std::chrono::milliseconds(500));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  EXPECT_EQ(env.State().borrows.size(), 1u);
  const std::string log = env.GatewayLog();
  EXPECT_TRUE(absl::StrContains(
      log, "\"request_id\":\"5d1c9a5e-2f43-4b8e-8c11-0d2e3f4a5b6c\""));
  EXPECT_TRUE(absl::StrContains(log, "\"outcome\":\"SUCCEEDED\""))
      << "the late answer was read and logged";
}

TEST(DeadlineTest, TooShortADeadlineIsNotSentAtAll) {
  GatewayEnv env({.gateway_args = {"--min_call_deadline=2s"}});
  BorrowResponse response;
  grpc::Status status =
      env.Borrow(MakeBorrow(1001, "6"), &response, std::chrono::seconds(1));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "nothing was sent"));
  EXPECT_EQ(env.State().received_borrow, 0);
}

}  // namespace
}  // namespace loan_gateway::testing
