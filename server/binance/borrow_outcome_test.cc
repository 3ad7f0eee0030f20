#include "binance/borrow_outcome.h"

#include "errors/error_details.h"
#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

std::string JsonQuoteForTest(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

ValidBorrow Borrow() {
  return ValidBorrow{1001, institutional_loan::v1::ASSET_USDT, "USDT",
                     *Decimal::Parse("60000"), ""};
}

HttpResult Completed(long status, std::string body,
                     std::map<std::string, std::string> headers = {}) {
  HttpResult r;
  r.delivery = Delivery::kCompleted;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

google::rpc::ErrorInfo Info(const BorrowOutcome& o) {
  google::rpc::ErrorInfo info;
  EXPECT_TRUE(errors::GetDetail(o.error, &info));
  return info;
}

TEST(ClassifyBorrowResultTest, DocumentedSuccessShape) {
  BorrowOutcome o = ClassifyBorrowResult(
      Completed(
          200,
          R"({"transactionId":9007199254740993,"amount":60000,"status":success})"),
      Borrow());
  ASSERT_EQ(o.outcome, Outcome::kSucceeded);
  EXPECT_EQ(o.receipt->transaction_id, "9007199254740993");
  EXPECT_EQ(o.receipt->amount, "60000");
}

TEST(ClassifyBorrowResultTest, BorrowLimitExceededCarriesEveryDetail) {
  BorrowOutcome o = ClassifyBorrowResult(
      Completed(
          400,
          R"({"code":-27009,"msg":"The requested borrow amount exceeds the )"
          R"(maximum allowed limit. Maximum borrowable for asset USDT is )"
          R"(50000, but request 60000."})"),
      Borrow());
  EXPECT_EQ(o.outcome, Outcome::kRejected);
  EXPECT_EQ(o.error.code(), absl::StatusCode::kFailedPrecondition);
  google::rpc::ErrorInfo info = Info(o);
  EXPECT_EQ(info.reason(), "BORROW_LIMIT_EXCEEDED");
  EXPECT_EQ(info.domain(), "loan-gateway");
  EXPECT_EQ(info.metadata().at("binance_code"), "-27009");
  EXPECT_EQ(info.metadata().at("http_status"), "400");
  EXPECT_EQ(info.metadata().at("max_amount"), "50000");
  EXPECT_NE(info.metadata().at("binance_msg").find("maximum allowed limit"),
            std::string::npos);
  google::rpc::PreconditionFailure failure;
  ASSERT_TRUE(errors::GetDetail(o.error, &failure));
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).subject(), "risk_unit/1001/USDT");
  EXPECT_EQ(failure.violations(0).description(),
            "requested 60000 USDT exceeds the maximum borrowable 50000 USDT");
  google::rpc::RetryInfo retry;
  EXPECT_FALSE(errors::GetDetail(o.error, &retry));
}

// The text an independent check found wrongly read: the requested amount was
// taken for the maximum. Any text that is not the documented template, or is
// about another asset or amount, states no maximum at all.
TEST(ClassifyBorrowResultTest, AMaximumIsStatedOnlyFromTheDocumentedTemplate) {
  struct Case {
    std::string msg;
    std::string max;  // Empty: none stated.
  };
  const std::string head =
      "The requested borrow amount exceeds the maximum allowed limit. ";
  for (const Case& c : std::vector<Case>{
           {head + "Maximum borrowable for asset USDT is 5000, but request "
                   "60000.",
            "5000"},
           {head + "Maximum borrowable for asset USDT is 5000, but request "
                   "60000.00000000.",
            "5000"},
           {"The requested borrow amount exceeds the maximum allowed limit. "
            "Max borrowable amount: 50000 USDT",
            ""},
           {head + "Maximum borrowable for asset USDC is 5000, but request "
                   "60000.",
            ""},
           {head + "Maximum borrowable for asset USDT is 5000, but request "
                   "5000.",
            ""},
           {head + "Maximum borrowable for asset USDT is 5,000, but request "
                   "60000.",
            ""},
           {"requested 60000 exceeds 5000", ""},
       }) {
    const std::string body =
        R"({"code":-27009,"msg":)" + JsonQuoteForTest(c.msg) + "}";
    google::rpc::ErrorInfo info =
        Info(ClassifyBorrowResult(Completed(400, body), Borrow()));
    EXPECT_EQ(info.reason(), "BORROW_LIMIT_EXCEEDED") << c.msg;
    if (c.max.empty()) {
      EXPECT_EQ(info.metadata().count("max_amount"), 0u) << c.msg;
    } else {
      EXPECT_EQ(info.metadata().at("max_amount"), c.max) << c.msg;
    }
  }
}

TEST(ClassifyBorrowResultTest, InsufficientMarginAndLtvFiguresGoToMetadata) {
  google::rpc::ErrorInfo margin = Info(ClassifyBorrowResult(
      Completed(400,
                R"({"code":-27012,"msg":"User has insufficient available )"
                R"(margin to borrow asset USDT: requested 60000, available )"
                R"(1234.5."})"),
      Borrow()));
  EXPECT_EQ(margin.metadata().at("available_amount"), "1234.5");
  google::rpc::ErrorInfo ltv = Info(ClassifyBorrowResult(
      Completed(400,
                "{\"code\":-27020,\"msg\":\"风险单元 1001 的 LTV "
                "过高(0.81),超出初始 LTV 阈值 0.75\"}"),
      Borrow()));
  EXPECT_EQ(ltv.metadata().at("ltv"), "0.81");
  EXPECT_EQ(ltv.metadata().at("initial_ltv_threshold"), "0.75");
  google::rpc::ErrorInfo plain = Info(ClassifyBorrowResult(
      Completed(400, R"({"code":-27020,"msg":"LTV too high: 0.81 > 0.75"})"),
      Borrow()));
  EXPECT_EQ(plain.metadata().count("ltv"), 0u);
}

TEST(ClassifyBorrowResultTest, ServerErrorIsUnknownWhateverTheBody) {
  BorrowOutcome o = ClassifyBorrowResult(
      Completed(503, R"({"code":-27009,"msg":"x"})", {{"retry-after", "5"}}),
      Borrow());
  EXPECT_EQ(o.outcome, Outcome::kUnknown);
  EXPECT_EQ(o.error.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(Info(o).reason(), "BORROW_OUTCOME_UNKNOWN");
  google::rpc::RetryInfo retry;
  EXPECT_FALSE(errors::GetDetail(o.error, &retry)) << "never invite a resend";
}

TEST(ClassifyBorrowResultTest, TransportFaults) {
  HttpResult maybe;
  maybe.delivery = Delivery::kMaybeSent;
  maybe.error = "Operation timed out (curl 28)";
  EXPECT_EQ(ClassifyBorrowResult(maybe, Borrow()).error.code(),
            absl::StatusCode::kUnknown);
  HttpResult unsent;
  unsent.delivery = Delivery::kNotSent;
  unsent.error = "Couldn't connect to server (curl 7)";
  BorrowOutcome o = ClassifyBorrowResult(unsent, Borrow());
  EXPECT_EQ(o.error.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Info(o).reason(), "UPSTREAM_UNREACHABLE");
}

TEST(ClassifyBorrowResultTest, UnreadableSuccessIsUnknown) {
  for (const char* body :
       {"", "{}", "<html></html>", R"({"transactionId":null})"}) {
    BorrowOutcome o = ClassifyBorrowResult(Completed(200, body), Borrow());
    EXPECT_EQ(o.outcome, Outcome::kUnknown) << body;
    EXPECT_EQ(o.error.code(), absl::StatusCode::kUnknown);
  }
}

TEST(ClassifyBorrowResultTest, RateLimitUsesRetryAfter) {
  BorrowOutcome o = ClassifyBorrowResult(
      Completed(429, R"({"code":-1003,"msg":"Too many requests"})",
                {{"retry-after", "17"}}),
      Borrow());
  EXPECT_EQ(o.error.code(), absl::StatusCode::kResourceExhausted);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(errors::GetDetail(o.error, &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 17);
  google::rpc::QuotaFailure quota;
  EXPECT_TRUE(errors::GetDetail(o.error, &quota));
}

TEST(ClassifyBorrowResultTest, WafHtmlIsABanNotACrash) {
  BorrowOutcome o =
      ClassifyBorrowResult(Completed(403, "<html>403 ERROR</html>"), Borrow());
  EXPECT_EQ(o.outcome, Outcome::kRejected);
  EXPECT_EQ(o.error.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Info(o).reason(), "UPSTREAM_BANNED");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(errors::GetDetail(o.error, &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 300);
}

TEST(ClassifyBorrowResultTest, UnlistedCodesKeepTheCode) {
  BorrowOutcome param = ClassifyBorrowResult(
      Completed(400, R"({"code":-1105,"msg":"Parameter was empty."})"),
      Borrow());
  EXPECT_EQ(param.error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Info(param).reason(), "BINANCE_ERROR");
  BorrowOutcome other = ClassifyBorrowResult(
      Completed(400, R"({"code":-27023,"msg":"failed"})"), Borrow());
  EXPECT_EQ(other.error.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Info(other).metadata().at("binance_code"), "-27023");
}

}  // namespace
}  // namespace loan_gateway::binance
