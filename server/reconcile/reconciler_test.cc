#include "reconcile/reconciler.h"

#include <unistd.h>

#include <deque>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "config/gateway_config.h"
#include "gtest/gtest.h"
#include "journal/sqlite_borrow_journal.h"
#include "testing/failing_journal.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ConstantSigner;
using ::loan_gateway::test_doubles::ManualClock;
using ::loan_gateway::test_doubles::ScriptedTransport;

HttpResult Ok(std::string body) {
  return {Delivery::kCompleted, 200, {}, std::move(body), "", {}};
}

config::v1::UpstreamConfig Upstream(const std::string& base_url) {
  config::v1::UpstreamConfig upstream = DefaultGatewayConfig().upstream();
  upstream.clear_base_urls();
  upstream.add_base_urls(base_url);
  return upstream;
}

class ReconcilerTest : public testing::Test {
 protected:
  ReconcilerTest()
      : path_(absl::StrCat(std::filesystem::temp_directory_path().string(),
                           "/reconciler_", getpid(), ".db")),
        binance_clock_(clock_, transport_, {"https://b"}) {
    for (const char* s : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + s);
    journal_ = *SqliteBorrowJournal::Open(path_, {.create_if_missing = true});
    transport_.script.push_back(Ok(
        absl::StrCat("{\"serverTime\":", absl::ToUnixMillis(clock_.now), "}")));
    EXPECT_TRUE(binance_clock_.Sync(absl::Seconds(1)).ok());
    transport_.sent.clear();
    reconciler_ = std::make_unique<Reconciler>(
        Upstream("https://b"), DefaultGatewayConfig().reconcile(),
        ReconcilerDeps{.transport = &transport_,
                       .binance_clock = &binance_clock_,
                       .credentials = {&api_key_, &signer_},
                       .journal = journal_.get(),
                       .clock = &clock_,
                       .in_flight = [this](const std::string& id) {
                         return id == in_flight_;
                       }});
  }
  ~ReconcilerTest() override {
    reconciler_.reset();
    journal_.reset();
    for (const char* s : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + s);
  }

  // Journals an intent and, unless `signed` is false, an attempt signed at
  // the current time plus `signed_after` (Binance time = this clock here).
  void Journal(const std::string& id, const std::string& amount, Outcome state,
               bool sign = true,
               absl::Duration signed_after = absl::ZeroDuration()) {
    JournalRecord r;
    r.request_id = id;
    r.caller = "t";
    r.group_id = 1001;
    r.asset = "USDT";
    r.amount = amount;
    r.created = clock_.now;
    ASSERT_TRUE(journal_->InsertIntent(r).ok());
    if (sign) {
      ASSERT_TRUE(journal_
                      ->BeginAttempt({.request_id = id,
                                      .group_id = 1001,
                                      .asset = "USDT",
                                      .amount = amount,
                                      .signed_ms = absl::ToUnixMillis(
                                          clock_.now + signed_after),
                                      .recv_window_ms = 5000})
                      .ok());
    }
    if (state != Outcome::kPending) {
      ASSERT_TRUE(journal_->RecordOutcome(id, {.state = state}).ok());
    }
  }

  std::string Row(const std::string& id, const std::string& amount,
                  int64_t offset_ms = 100,
                  const std::string& status = "CONFIRM") {
    return absl::StrCat(
        R"({"tranId":)", id, R"(,"assetName":"USDT","amount":")", amount,
        R"(","status":")", status, R"(","type":"BORROW","timestamp":)",
        absl::ToUnixMillis(clock_.now) + offset_ms, "}");
  }

  std::string path_;
  ManualClock clock_{absl::FromUnixMillis(1'764'000'000'000)};
  ScriptedTransport transport_;
  Secret api_key_{"k"};
  ConstantSigner signer_;
  BinanceClock binance_clock_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
  std::unique_ptr<Reconciler> reconciler_;
  std::string in_flight_;
};

TEST_F(ReconcilerTest, AMatchingRecordSettlesAsExecuted) {
  Journal("u", "1000.5", Outcome::kUnknown);
  transport_.script.push_back(
      Ok(absl::StrCat(R"({"rows":[)", Row("9007199254740993", "1000.50000000"),
                      R"(],"total":1})")));
  Reconciler::Pass pass = reconciler_->RunOnce();
  EXPECT_EQ(pass.executed, 1);
  auto r = *journal_->Get("u");
  EXPECT_EQ(r->state, Outcome::kSucceeded);
  EXPECT_TRUE(r->reconciled);
  EXPECT_EQ(r->transaction_id, "9007199254740993");
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_TRUE(absl::StrContains(transport_.sent[0].url,
                                "/sapi/v1/margin/loan-group/borrow-repay?"));
  EXPECT_TRUE(absl::StrContains(transport_.sent[0].url, "groupId=1001"));
  EXPECT_TRUE(absl::StrContains(transport_.sent[0].url, "type=BORROW"));
}

TEST_F(ReconcilerTest, NoRecordWaitsThenSettlesAsNotExecuted) {
  Journal("p", "7", Outcome::kPending);
  const std::string empty = R"({"rows":[],"total":0})";
  transport_.script.push_back(Ok(empty));
  EXPECT_EQ(reconciler_->RunOnce().unsettled, 1) << "too early to conclude";
  clock_.now += absl::Minutes(3);
  transport_.script.push_back(Ok(empty));
  EXPECT_EQ(reconciler_->RunOnce().not_executed, 1);
  auto r = *journal_->Get("p");
  EXPECT_EQ(r->state, Outcome::kRejected);
  EXPECT_TRUE(r->reconciled);
  EXPECT_FALSE(r->retryable);
}

TEST_F(ReconcilerTest, ARecordIsAttributedOnceOnlyAndEarlierOnesAreIgnored) {
  Journal("a", "5", Outcome::kUnknown);
  // b signed after a's window: a record in a's window cannot be b's.
  Journal("b", "5", Outcome::kUnknown, true, absl::Seconds(8));
  const std::string rows =
      absl::StrCat(R"({"rows":[)", Row("1", "5", -600000), ",", Row("2", "5"),
                   ",", Row("3", "5", 200, "FAILED"), R"(],"total":3})");
  transport_.script.push_back(Ok(rows));
  transport_.script.push_back(Ok(rows));
  Reconciler::Pass pass = reconciler_->RunOnce();
  EXPECT_EQ(pass.executed, 1);
  EXPECT_EQ((*journal_->Get("a"))->transaction_id, "2");
  EXPECT_EQ((*journal_->Get("b"))->state, Outcome::kUnknown)
      << "2 is a's, 1 too early";
}

TEST_F(ReconcilerTest, ARecordTwoOpenAttemptsCouldOwnStaysOpenWithANote) {
  Journal("a", "5", Outcome::kUnknown);
  Journal("b", "5", Outcome::kUnknown, true, absl::Seconds(2));
  const std::string rows =
      absl::StrCat(R"({"rows":[)", Row("2", "5", 2500), R"(],"total":1})");
  transport_.script.push_back(Ok(rows));
  transport_.script.push_back(Ok(rows));
  clock_.now += absl::Minutes(3);
  Reconciler::Pass pass = reconciler_->RunOnce();
  EXPECT_EQ(pass.ambiguous, 2);
  EXPECT_EQ(pass.executed + pass.not_executed, 0)
      << "neither owner nor 'not executed' while the record is unattributed";
  for (const char* id : {"a", "b"}) {
    auto r = **journal_->Get(id);
    EXPECT_EQ(r.state, Outcome::kUnknown);
    EXPECT_TRUE(absl::StrContains(r.note, "ambiguous")) << r.note;
    EXPECT_TRUE(absl::StrContains(r.note, "2")) << r.note;
  }
}

// The issue's case: R1's request never reached Binance (UNKNOWN); R2 of the
// same amount executed after R1's window. R2's record is never R1's.
TEST_F(ReconcilerTest, ALaterBorrowOfTheSameAmountIsNeverGivenToAnUnknownOne) {
  Journal("r1", "100", Outcome::kUnknown);
  Journal("r2", "100", Outcome::kPending, true, absl::Seconds(7));
  in_flight_ = "r2";  // Binance has executed it; its answer is on the way.
  const std::string rows =
      absl::StrCat(R"({"rows":[)", Row("77", "100", 7040), R"(],"total":1})");
  transport_.script.push_back(Ok(rows));
  EXPECT_EQ(reconciler_->RunOnce().unsettled, 1) << "too early for r1";
  clock_.now += absl::Minutes(3);
  transport_.script.push_back(Ok(rows));
  EXPECT_EQ(reconciler_->RunOnce().not_executed, 1);
  EXPECT_EQ((**journal_->Get("r1")).state, Outcome::kRejected);
  EXPECT_TRUE((**journal_->Get("r1")).transaction_id.empty());
}

// Of the gateways sharing a journal, only the lease holder settles; a pass
// whose lease is lost midway stops at the next record.
TEST_F(ReconcilerTest, OnlyTheLeaseHolderSettles) {
  Journal("n1", "5", Outcome::kPending, /*sign=*/false);
  Journal("n2", "6", Outcome::kPending, /*sign=*/false);
  test_doubles::FailingJournal shared(*journal_);
  Reconciler other(Upstream("https://b"), DefaultGatewayConfig().reconcile(),
                   ReconcilerDeps{.transport = &transport_,
                                  .binance_clock = &binance_clock_,
                                  .credentials = {&api_key_, &signer_},
                                  .journal = &shared,
                                  .clock = &clock_});
  shared.leads_for = 0;
  EXPECT_EQ(other.RunOnce().examined, 0) << "another gateway leads";
  EXPECT_EQ((**journal_->Get("n1")).state, Outcome::kPending);
  shared.leads_for = 2;  // The pass's own ask, then one record's.
  EXPECT_EQ(other.RunOnce().examined, 1) << "lost after the first record";
  EXPECT_EQ((**journal_->Get("n1")).state, Outcome::kRejected);
  EXPECT_EQ((**journal_->Get("n2")).state, Outcome::kPending);
}

TEST_F(ReconcilerTest, AnIntentNeverSignedIsNotExecutedWithoutAsking) {
  Journal("n", "5", Outcome::kPending, /*sign=*/false);
  EXPECT_EQ(reconciler_->RunOnce().not_executed, 1);
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ((**journal_->Get("n")).state, Outcome::kRejected);
}

TEST_F(ReconcilerTest, LeavesCallsInFlightAloneAndSurvivesBinanceErrors) {
  Journal("mine", "5", Outcome::kPending);
  Journal("other", "6", Outcome::kUnknown);
  in_flight_ = "mine";
  transport_.script.push_back({Delivery::kCompleted, 503, {}, "", "", {}});
  Reconciler::Pass pass = reconciler_->RunOnce();
  EXPECT_EQ(pass.examined, 1);
  EXPECT_EQ(pass.unsettled, 1);
  EXPECT_EQ((*journal_->Get("other"))->state, Outcome::kUnknown);
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

TEST_F(ReconcilerTest, AMatchingRowBinanceHasNotSettledKeepsItUnknown) {
  Journal("u", "8", Outcome::kUnknown);
  clock_.now += absl::Minutes(3);  // Past settle_after.
  transport_.script.push_back(Ok(absl::StrCat(
      R"({"rows":[)", Row("5", "8", -179900, "PENDING"), R"(],"total":1})")));
  Reconciler::Pass pass = reconciler_->RunOnce();
  EXPECT_EQ(pass.unsettled, 1);
  EXPECT_EQ((*journal_->Get("u"))->state, Outcome::kUnknown);
}

}  // namespace
}  // namespace loan_gateway
