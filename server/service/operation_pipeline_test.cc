#include "service/operation_pipeline.h"

#include <unistd.h>

#include <deque>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "binance/execution_window.h"
#include "config/gateway_config.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "gtest/gtest.h"
#include "journal/sqlite_borrow_journal.h"
#include "log/json_log.h"
#include "testing/failing_journal.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::Answer;
using ::loan_gateway::test_doubles::ConstantSigner;
using ::loan_gateway::test_doubles::FailingJournal;
using ::loan_gateway::test_doubles::ManualExecutor;
using ::loan_gateway::test_doubles::ManualScheduler;
using ::loan_gateway::test_doubles::ScriptedTransport;
// Time stands still: budget windows and deadlines are the test's to set.
using FixedClock = ::loan_gateway::test_doubles::ManualClock;

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

HttpResult TimeAnswer() {
  return {
      Delivery::kCompleted, 200, {}, R"({"serverTime":1700000000000})", "", {}};
}

// The gateway's defaults with two base URLs: the second is tried only when
// nothing was sent to the first.
config::v1::UpstreamConfig TwoUpstreams() {
  config::v1::UpstreamConfig upstream = DefaultGatewayConfig().upstream();
  upstream.clear_base_urls();
  upstream.add_base_urls("https://a");
  upstream.add_base_urls("https://b");
  return upstream;
}

class OperationPipelineTest : public testing::Test {
 protected:
  OperationPipelineTest()
      : binance_clock_(clock_, transport_, {"https://a"}),
        budget_(clock_, 9000),
        breaker_(clock_),
        journal_(*SqliteBorrowJournal::OpenInMemory()),
        failing_journal_(*journal_),
        pipeline_(TwoUpstreams(), DefaultGatewayConfig().borrow(),
                  {.transport = &transport_,
                   .binance_clock = &binance_clock_,
                   .credentials = {&api_key_, &signer_},
                   .clock = &clock_,
                   .budget = &budget_,
                   .breaker = &breaker_,
                   .journal = &failing_journal_,
                   .journal_executor = &journal_executor_,
                   .call_executor = &call_executor_,
                   .scheduler = &scheduler_,
                   .halt = &halt_}) {}

  void SyncClock() {
    transport_.script.push_back(TimeAnswer());
    ASSERT_TRUE(binance_clock_.Sync(absl::Seconds(1)).ok());
    transport_.sent.clear();
  }

  // A call whose answer may come later (the test moves time meanwhile).
  struct Pending {
    absl::Notification done;
    std::optional<absl::StatusOr<BorrowResponse>> out;
  };
  std::unique_ptr<Pending> Start(const BorrowRequest& request,
                                 std::function<bool()> caller_gone = nullptr,
                                 const std::string& caller = "test") {
    auto pending = std::make_unique<Pending>();
    Pending* p = pending.get();
    pipeline_.Borrow(
        request, caller, deadline_,
        [p](absl::StatusOr<BorrowResponse> r) {
          p->out = std::move(r);
          p->done.Notify();
        },
        std::move(caller_gone));
    return pending;
  }
  absl::StatusOr<BorrowResponse> Await(Pending& pending) {
    Settle();
    EXPECT_TRUE(pending.done.HasBeenNotified());
    EXPECT_EQ(pipeline_.unanswered_calls(), 0);
    return *pending.out;
  }
  // Runs every stage that can run now, each on its executor (both are the
  // test's thread); what is left waits for the scheduler or the test.
  void Settle() {
    while (!journal_executor_.tasks.empty() || !call_executor_.tasks.empty()) {
      on_journal_executor_ = true;
      journal_executor_.RunUntilIdle();
      on_journal_executor_ = false;
      call_executor_.RunUntilIdle();
    }
  }

  absl::StatusOr<BorrowResponse> Run(const BorrowRequest& request) {
    return Await(*Start(request));
  }

  // `id`'s intent, journaled and in flight at another gateway sharing the
  // journal (Request()'s borrow).
  void JournalInFlightElsewhere(const std::string& id) {
    JournalRecord theirs;
    theirs.request_id = id;
    theirs.caller = "test";
    theirs.group_id = 1001;
    theirs.asset = "USDT";
    theirs.amount = "10";
    theirs.created = clock_.now;
    ASSERT_TRUE(journal_->InsertIntent(theirs).ok());
    failing_journal_.in_flight_elsewhere = id;
  }

  static BorrowRequest Request() {
    BorrowRequest r;
    r.set_group_id(1001);
    r.set_asset(institutional_loan::v1::ASSET_USDT);
    r.set_amount("10");
    return r;
  }

  static std::string RequestIdOf(const absl::Status& status) {
    google::rpc::ErrorInfo info;
    EXPECT_TRUE(errors::GetDetail(status, &info));
    return info.metadata().contains("request_id")
               ? info.metadata().at("request_id")
               : "";
  }

  FixedClock clock_;
  ScriptedTransport transport_;
  Secret api_key_{"key"};
  ConstantSigner signer_;
  BinanceClock binance_clock_;
  WeightBudget budget_;
  BanBreaker breaker_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
  FailingJournal failing_journal_;
  ManualExecutor journal_executor_;
  ManualExecutor call_executor_;
  bool on_journal_executor_ = false;
  ManualScheduler scheduler_;
  BorrowingHalt halt_{absl::StrCat(testing::TempDir(), "/halt-", ::getpid())};
  OperationPipeline pipeline_;
  absl::Time deadline_ = absl::InfiniteFuture();
};

// Group commit: the request is signed and sent only once the group holding
// its intent and attempt committed, and the caller is answered only once
// the group holding the outcome did.
TEST_F(OperationPipelineTest, NothingIsSignedOrAnsweredBeforeItsGroupCommits) {
  SyncClock();
  journal_executor_.hold_commits = true;
  transport_.script.push_back(
      {Delivery::kCompleted,
       200,
       {},
       R"({"transactionId":81,"amount":10,"status":"success"})",
       "",
       {}});
  std::unique_ptr<Pending> pending = Start(Request());
  Settle();
  EXPECT_TRUE(transport_.sent.empty()) << "signed before the commit";
  EXPECT_EQ(journal_executor_.uncommitted.size(), 1u);
  journal_executor_.Commit();
  Settle();
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_FALSE(pending->done.HasBeenNotified())
      << "answered before the outcome's commit";
  EXPECT_FALSE(journal_executor_.uncommitted.empty());
  journal_executor_.Commit();
  Settle();
  ASSERT_TRUE(pending->done.HasBeenNotified());
  ASSERT_TRUE(pending->out->ok()) << pending->out->status();
  EXPECT_EQ((*pending->out)->transaction_id(), "81");
}

// A group that cannot commit: nothing is sent, the caller hears why.
TEST_F(OperationPipelineTest, AFailedCommitSendsNothing) {
  SyncClock();
  journal_executor_.hold_commits = true;
  std::unique_ptr<Pending> pending = Start(Request());
  Settle();
  journal_executor_.Commit(absl::UnavailableError("disk full"));
  journal_executor_.hold_commits = false;
  Settle();
  EXPECT_TRUE(transport_.sent.empty());
  ASSERT_TRUE(pending->done.HasBeenNotified());
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(pending->out->status(), &info));
  EXPECT_EQ(info.reason(), "JOURNAL_UNAVAILABLE");
  EXPECT_EQ(budget_.used(), 0) << "the weight comes back";
}

// A dry run is checked like a real call, and nothing is journaled or sent.
TEST_F(OperationPipelineTest, ValidateOnlyJournalsAndSendsNothing) {
  SyncClock();
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  request.set_validate_only(true);
  absl::StatusOr<BorrowResponse> r = Run(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), institutional_loan::v1::BORROW_STATUS_VALIDATED);
  EXPECT_TRUE(r->transaction_id().empty());
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_FALSE(journal_->Get(request.request_id())->has_value());
  EXPECT_EQ(budget_.used(), 0) << "the weight is checked, not taken";
}

// Halted: refused before the journal, a call already queued before it is
// signed; resumed: sent.
TEST_F(OperationPipelineTest, AHaltRefusesEveryBorrowNotSentYet) {
  SyncClock();
  halt_.Halt("ops", "drill", clock_.Now());
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(r.status(), &info));
  EXPECT_EQ(info.reason(), "BORROWING_HALTED");
  EXPECT_FALSE(journal_->Get(RequestIdOf(r.status()))->has_value());

  ASSERT_TRUE(halt_.Resume().ok());
  std::unique_ptr<Pending> queued = Start(Request());
  on_journal_executor_ = true;
  journal_executor_.RunUntilIdle();  // Journaled, attempt prepared.
  on_journal_executor_ = false;
  halt_.Halt("ops", "drill", clock_.Now());
  r = Await(*queued);
  ASSERT_TRUE(errors::GetDetail(r.status(), &info));
  EXPECT_EQ(info.reason(), "BORROWING_HALTED");
  EXPECT_TRUE(transport_.sent.empty()) << "halted between journal and send";
  ASSERT_TRUE(halt_.Resume().ok());

  transport_.script.push_back(
      {Delivery::kCompleted,
       200,
       {},
       R"({"transactionId":78,"amount":10,"status":success})",
       "",
       {}});
  EXPECT_TRUE(Run(Request()).ok());
}

TEST_F(OperationPipelineTest, SuccessEchoesTheRequestAndAGeneratedId) {
  SyncClock();
  transport_.script.push_back(
      {Delivery::kCompleted,
       200,
       {},
       R"({"transactionId":77,"amount":10,"status":success})",
       "",
       {}});
  absl::StatusOr<BorrowResponse> r = Run(Request());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->transaction_id(), "77");
  EXPECT_EQ(r->group_id(), 1001);
  EXPECT_TRUE(IsUuid(r->request_id()));
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_TRUE(
      absl::StrContains(transport_.sent[0].body, "timestamp=1700000000000"));
}

TEST_F(OperationPipelineTest, InvalidRequestSendsNothingAndEchoesTheId) {
  SyncClock();
  BorrowRequest bad = Request();
  bad.set_amount("-1");
  bad.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  absl::StatusOr<BorrowResponse> r = Run(bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequestIdOf(r.status()), "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(OperationPipelineTest, UnknownClockRefusesToSign) {
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(r.status(), &info));
  EXPECT_EQ(info.reason(), "CLOCK_SKEW");
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(OperationPipelineTest, UnsentRequestTriesTheNextBaseUrlOnce) {
  SyncClock();
  transport_.script.push_back(
      {Delivery::kNotSent, 0, {}, "", "Couldn't connect", {}});
  transport_.script.push_back(
      {Delivery::kNotSent, 0, {}, "", "Couldn't connect", {}});
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(transport_.sent[0].url, "https://a/"));
  EXPECT_TRUE(absl::StartsWith(transport_.sent[1].url, "https://b/"));
}

TEST_F(OperationPipelineTest, MaybeSentIsNeverResent) {
  SyncClock();
  transport_.script.push_back(
      {Delivery::kMaybeSent, 0, {}, "", "Operation timed out", {}});
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(transport_.sent.size(), 1u);
  EXPECT_TRUE(IsUuid(RequestIdOf(r.status())));
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

// Log lines from here on go to this stream (emptied on each call), which
// lives as long as the process, as the logger may write to it until then.
std::ostringstream& CapturedLog() {
  static std::ostringstream* const out = [] {
    auto* stream = new std::ostringstream;
    InitJsonLogForTesting(*stream);
    return stream;
  }();
  out->str("");
  return *out;
}

const char kSuccess[] = R"({"transactionId":1,"amount":10,"status":success})";

TEST_F(OperationPipelineTest, WeightBudgetRefusesWithoutSending) {
  SyncClock();
  for (int i = 0; i < 3; ++i) {
    // Binance gives every borrow its own transaction id.
    transport_.script.push_back(
        Answer(200, absl::StrCat(R"({"transactionId":)", 100 + i,
                                 R"(,"amount":10,"status":success})")));
    ASSERT_TRUE(Run(Request()).ok());
  }
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(transport_.sent.size(), 3u);
}

TEST_F(OperationPipelineTest, UsedWeightHeaderCorrectsTheBudget) {
  SyncClock();
  transport_.script.push_back(
      Answer(200, kSuccess, {{"x-sapi-used-uid-weight-1m", "9000"}}));
  ASSERT_TRUE(Run(Request()).ok());
  EXPECT_EQ(Run(Request()).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest, BanOpensTheBreakerAndNothingIsSentWhileOpen) {
  SyncClock();
  transport_.script.push_back(Answer(418, R"({"code":-1003,"msg":"banned"})",
                                     {{"retry-after", "600"}}));
  EXPECT_EQ(Run(Request()).status().code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<BorrowResponse> held = Run(Request());
  EXPECT_EQ(held.status().code(), absl::StatusCode::kUnavailable);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(held.status(), &info));
  EXPECT_EQ(info.metadata().at("breaker"), "open");
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest, ClockSkewIsResyncedAndReSignedOnce) {
  SyncClock();
  transport_.script.push_back(
      Answer(400, R"({"code":-1021,"msg":"outside recvWindow"})"));
  transport_.script.push_back(TimeAnswer());
  transport_.script.push_back(Answer(200, kSuccess));
  ASSERT_TRUE(Run(Request()).ok());
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_TRUE(absl::StrContains(transport_.sent[1].url, "/api/v3/time"));
}

TEST_F(OperationPipelineTest, ClockSkewTwiceGivesUp) {
  SyncClock();
  transport_.script.push_back(
      Answer(400, R"({"code":-1021,"msg":"outside recvWindow"})"));
  transport_.script.push_back(TimeAnswer());
  transport_.script.push_back(
      Answer(400, R"({"code":-1021,"msg":"outside recvWindow"})"));
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(r.status(), &info));
  EXPECT_EQ(info.reason(), "CLOCK_SKEW");
  EXPECT_EQ(transport_.sent.size(), 3u);
}

TEST_F(OperationPipelineTest, TooShortADeadlineSendsNothing) {
  SyncClock();
  deadline_ = clock_.Now() + absl::Milliseconds(50);
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(transport_.sent.empty());
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

// Refusals built outside the error table (by modules below it) must say what
// the table, and so the README, says.
void ExpectMatchesRow(const absl::Status& status, contract::LocalEvent event) {
  const contract::ErrorRule& row = contract::RuleForLocal(event);
  EXPECT_EQ(status.code(), row.code) << row.situation;
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(status, &info));
  EXPECT_EQ(info.reason(), contract::ReasonName(row.reason));
}

TEST_F(OperationPipelineTest, LocalRefusalsMatchTheirTableRows) {
  BorrowRequest bad = Request();
  bad.set_amount("x");
  ExpectMatchesRow(Run(bad).status(), contract::kInvalidRequestEvent);
  ExpectMatchesRow(Run(Request()).status(), contract::kClockUnknownEvent);
  SyncClock();
  deadline_ = clock_.Now();
  ExpectMatchesRow(Run(Request()).status(), contract::kDeadlineTooShortEvent);
  deadline_ = absl::InfiniteFuture();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(budget_.TryReserve().ok());
  ExpectMatchesRow(Run(Request()).status(), contract::kWeightSpentEvent);
  const contract::ErrorRule& ban = *contract::RuleForHttpStatus(418);
  breaker_.Trip(ban, contract::RuleError(ban, "ban"), absl::Minutes(2));
  ExpectMatchesRow(Run(Request()).status(), contract::kBreakerOpenEvent);
  EXPECT_TRUE(transport_.sent.empty());
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

TEST_F(OperationPipelineTest,
       RepeatedRequestIdGetsTheStoredAnswerAndNoSecondBorrow) {
  SyncClock();
  transport_.script.push_back(
      Answer(200, R"({"transactionId":42,"status":success})"));
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  absl::StatusOr<BorrowResponse> first = Run(request);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<BorrowResponse> again = Run(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->transaction_id(), "42");
  EXPECT_EQ(transport_.sent.size(), 1u);
  auto record = journal_->Get(request.request_id());
  EXPECT_EQ((*record)->state, Outcome::kSucceeded);
}

TEST_F(OperationPipelineTest, SameIdOtherParametersIsAConflict) {
  SyncClock();
  transport_.script.push_back(Answer(200, kSuccess));
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  ASSERT_TRUE(Run(request).ok());
  request.set_amount("11");
  absl::StatusOr<BorrowResponse> conflict = Run(request);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest, UnknownOutcomeIsStoredAndRepeatedNeverResent) {
  SyncClock();
  transport_.script.push_back(Answer(503, ""));
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  EXPECT_EQ(Run(request).status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(Run(request).status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ((*journal_->Get(request.request_id()))->state, Outcome::kUnknown);
}

// A retryable rejection is tried again by its own caller only: another
// caller's repeat is a conflict that tells nothing of that borrow and is
// never a second attempt of it.
TEST_F(OperationPipelineTest, RetryableRejectionMayBeTriedAgainWithTheSameId) {
  SyncClock();
  transport_.script.push_back(
      Answer(400, R"({"code":-27025,"msg":"pending"})"));
  transport_.script.push_back(Answer(200, kSuccess));
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  EXPECT_EQ(Run(request).status().code(), absl::StatusCode::kAborted);
  absl::StatusOr<BorrowResponse> theirs =
      Await(*Start(request, nullptr, "another"));
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kAlreadyExists);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(theirs.status(), &info));
  EXPECT_EQ(info.reason(), "REQUEST_ID_CONFLICT");
  EXPECT_FALSE(info.metadata().contains("existing_amount"));
  EXPECT_EQ(transport_.sent.size(), 1u) << "not tried again for another";
  EXPECT_TRUE(Run(request).ok());
  EXPECT_EQ(transport_.sent.size(), 2u);
}

int64_t SignedTimestamp(const HttpRequest& sent) {
  for (absl::string_view pair : absl::StrSplit(sent.body, '&')) {
    int64_t value = 0;
    if (absl::ConsumePrefix(&pair, "timestamp=") &&
        absl::SimpleAtoi(pair, &value)) {
      return value;
    }
  }
  return -1;
}

TEST_F(OperationPipelineTest, TheSignedTimestampIsJournaledBeforeSending) {
  SyncClock();
  std::vector<AttemptRecord> seen_at_send;
  const std::string id = "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f";
  transport_.on_send = [&] { seen_at_send = *journal_->Attempts(id); };
  transport_.script.push_back(Answer(200, kSuccess));
  BorrowRequest request = Request();
  request.set_request_id(id);
  ASSERT_TRUE(Run(request).ok());
  ASSERT_EQ(seen_at_send.size(), 1u) << "durable before the request left";
  EXPECT_EQ(seen_at_send[0].signed_ms, SignedTimestamp(transport_.sent[0]));
  EXPECT_EQ(seen_at_send[0].recv_window_ms, 5000);
  EXPECT_EQ((*journal_->Attempts(id))[0].state, AttemptState::kExecuted);
}

TEST_F(OperationPipelineTest, AfterAnUnknownTheRiskUnitWaitsOutItsWindow) {
  SyncClock();
  transport_.script.push_back(Answer(503, ""));
  ASSERT_EQ(Run(Request()).status().code(), absl::StatusCode::kUnknown);
  const int64_t unknown_ts = SignedTimestamp(transport_.sent[0]);

  // Another risk unit is not held up.
  BorrowRequest other = Request();
  other.set_group_id(2002);
  transport_.script.push_back(Answer(200, kSuccess));
  ASSERT_TRUE(Run(other).ok());
  EXPECT_TRUE(scheduler_.tasks.empty());

  // The same risk unit waits until a request signed now could not share
  // Binance's execution window with the unknown one.
  std::unique_ptr<Pending> next = Start(Request());
  Settle();
  ASSERT_EQ(scheduler_.tasks.size(), 1u);
  EXPECT_EQ(scheduler_.delays[0], absl::Milliseconds(7000));
  EXPECT_EQ(transport_.sent.size(), 2u) << "nothing sent while waiting";
  clock_.now += absl::Milliseconds(7000);
  transport_.script.push_back(
      Answer(200, R"({"transactionId":2,"amount":10,"status":success})"));
  scheduler_.RunAll();
  ASSERT_TRUE(Await(*next).ok());
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_FALSE(binance::WindowOf(SignedTimestamp(transport_.sent[2]), 5000)
                   .Overlaps(binance::WindowOf(unknown_ts, 5000)));
}

// Another gateway sharing the journal holds the risk unit's turn: the call
// keeps trying every 25 ms, sends once the turn is free, and its weight is
// taken once (each refused try gave its reservation back).
TEST_F(OperationPipelineTest, ATurnHeldElsewhereIsWaitedFor) {
  SyncClock();
  failing_journal_.busy_elsewhere = 3;
  transport_.script.push_back(Answer(200, kSuccess));
  std::unique_ptr<Pending> pending = Start(Request());
  for (int tries = 0; tries < 3; ++tries) {
    Settle();
    ASSERT_EQ(scheduler_.tasks.size(), 1u) << "try " << tries;
    EXPECT_EQ(scheduler_.delays.back(), absl::Milliseconds(25));
    EXPECT_TRUE(transport_.sent.empty()) << "nothing sent while it is held";
    scheduler_.RunAll();
  }
  ASSERT_TRUE(Await(*pending).ok());
  EXPECT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(budget_.used(), 3000);
}

// Held elsewhere past the call's deadline: refused RISK_UNIT_BUSY with
// RetryInfo, nothing sent, and the request_id may be tried again.
TEST_F(OperationPipelineTest, ATurnHeldElsewhereTooLongIsRefusedUnsent) {
  SyncClock();
  failing_journal_.busy_elsewhere = 1000000;
  deadline_ = clock_.now + absl::Seconds(2);
  std::unique_ptr<Pending> pending = Start(Request());
  for (int i = 0; i < 200 && !pending->done.HasBeenNotified(); ++i) {
    Settle();
    clock_.now += absl::Milliseconds(25);
    scheduler_.RunAll();
  }
  absl::StatusOr<BorrowResponse> busy = Await(*pending);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(busy.status(), &info)) << busy.status();
  EXPECT_EQ(info.reason(), "RISK_UNIT_BUSY");
  google::rpc::RetryInfo retry;
  EXPECT_TRUE(errors::GetDetail(busy.status(), &retry));
  EXPECT_TRUE(transport_.sent.empty());
  absl::StatusOr<std::optional<JournalRecord>> record =
      journal_->Get(RequestIdOf(busy.status()));
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->state, Outcome::kRejected);
  EXPECT_TRUE((*record)->retryable);
}

// A repeat of a request_id another gateway has in flight reads its record
// until that call's outcome is journaled, then answers with it: never a
// second borrow.
TEST_F(OperationPipelineTest, ARepeatFollowsACallInFlightElsewhere) {
  SyncClock();
  const std::string id = "5d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d";
  JournalInFlightElsewhere(id);
  BorrowRequest repeat = Request();
  repeat.set_request_id(id);
  std::unique_ptr<Pending> pending = Start(repeat);
  Settle();
  scheduler_.RunAll();
  Settle();
  EXPECT_FALSE(pending->done.HasBeenNotified()) << "still in flight there";
  ASSERT_TRUE(journal_
                  ->RecordOutcome(id, {.state = Outcome::kSucceeded,
                                       .transaction_id = "424242"})
                  .ok());
  scheduler_.RunAll();
  absl::StatusOr<BorrowResponse> answer = Await(*pending);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->transaction_id(), "424242");
  EXPECT_TRUE(transport_.sent.empty()) << "never sent here";
}

// A drain does not wait for another gateway's call: the repeat following it
// is answered UNKNOWN at once (never refused: that call may execute).
TEST_F(OperationPipelineTest, ADrainAnswersARepeatFollowingElsewhere) {
  SyncClock();
  const std::string id = "6e3d2c1b-0a9f-4b8c-9d7e-6f5a4b3c2d1e";
  JournalInFlightElsewhere(id);
  BorrowRequest repeat = Request();
  repeat.set_request_id(id);
  std::unique_ptr<Pending> pending = Start(repeat);
  Settle();
  ASSERT_EQ(scheduler_.tasks.size(), 1u);
  pipeline_.BeginDrain();
  absl::StatusOr<BorrowResponse> answer = Await(*pending);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnknown)
      << answer.status();
  scheduler_.RunAll();  // The poll that was due finds it answered.
  Settle();
  EXPECT_EQ((*journal_->Get(id))->state, Outcome::kPending)
      << "the other gateway's record is untouched";
}

TEST_F(OperationPipelineTest,
       AWaitLongerThanTheDeadlineIsRefusedWithRetryInfo) {
  SyncClock();
  transport_.script.push_back(Answer(503, ""));
  ASSERT_EQ(Run(Request()).status().code(), absl::StatusCode::kUnknown);
  deadline_ = clock_.now + absl::Seconds(3);
  absl::StatusOr<BorrowResponse> busy = Run(Request());
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kResourceExhausted);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(busy.status(), &info));
  EXPECT_EQ(info.reason(), "RISK_UNIT_BUSY");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(errors::GetDetail(busy.status(), &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 7);
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest, NothingIsSentAfterTheCallerLeft) {
  SyncClock();
  bool gone = true;
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  std::unique_ptr<Pending> call = Start(request, [&] { return gone; });
  absl::StatusOr<BorrowResponse> r = Await(*call);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(r.status(), &info));
  EXPECT_EQ(info.reason(), "CALLER_GONE");
  EXPECT_TRUE(transport_.sent.empty());
  auto record = **journal_->Get(request.request_id());
  EXPECT_EQ(record.state, Outcome::kRejected);
  EXPECT_TRUE(record.retryable) << "never sent: a repeat may send it";
  transport_.script.push_back(Answer(200, kSuccess));
  EXPECT_TRUE(Run(request).ok());
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest, ADrainRefusesWhatIsNotSentAndFinishesWhatIs) {
  SyncClock();
  transport_.script.push_back(Answer(503, ""));
  ASSERT_EQ(Run(Request()).status().code(), absl::StatusCode::kUnknown);
  // One borrow waits out the unknown one's window, one waits behind it.
  std::unique_ptr<Pending> waiting_window = Start(Request());
  Settle();
  std::unique_ptr<Pending> waiting_turn = Start(Request());
  Settle();
  ASSERT_EQ(scheduler_.tasks.size(), 1u);
  pipeline_.BeginDrain();
  for (Pending* p : {waiting_window.get(), waiting_turn.get()}) {
    absl::StatusOr<BorrowResponse> r = Await(*p);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(errors::GetDetail(r.status(), &info));
    EXPECT_EQ(info.reason(), "GATEWAY_DRAINING");
    EXPECT_EQ(info.metadata().at("outcome"), "REJECTED");
  }
  scheduler_.RunAll();  // The window passes: still nothing is sent.
  Settle();
  EXPECT_EQ(Run(Request()).status().code(), absl::StatusCode::kUnavailable)
      << "new calls are refused too";
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest,
       ADirectAnswerReopensWhatReconciliationMisattributed) {
  SyncClock();
  JournalRecord r1;
  r1.request_id = "00000000-0000-4000-8000-000000000001";
  r1.caller = "t";
  r1.group_id = 3003;
  r1.asset = "USDT";
  r1.amount = "10";
  r1.created = clock_.now;
  ASSERT_TRUE(journal_->InsertIntent(r1).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome(r1.request_id, {.state = Outcome::kSucceeded,
                                                  .reconciled = true,
                                                  .transaction_id = "1"})
                  .ok());
  transport_.script.push_back(Answer(200, kSuccess));  // Transaction 1.
  absl::StatusOr<BorrowResponse> r2 = Run(Request());
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->transaction_id(), "1");
  EXPECT_EQ((**journal_->Get(r2->request_id())).transaction_id, "1")
      << "the direct answer is the truth";
  auto reopened = **journal_->Get(r1.request_id);
  EXPECT_EQ(reopened.state, Outcome::kUnknown);
  EXPECT_TRUE(reopened.transaction_id.empty());
}

TEST_F(OperationPipelineTest, AnIntentThatCannotBeJournaledSendsNothing) {
  SyncClock();
  failing_journal_.fail_intent = true;
  absl::StatusOr<BorrowResponse> r = Run(Request());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(r.status(), &info));
  EXPECT_EQ(info.reason(), "JOURNAL_UNAVAILABLE");
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_FALSE(pipeline_.WorkingOn(RequestIdOf(r.status())));
}

TEST_F(OperationPipelineTest, AnAttemptThatCannotBeJournaledIsNotSent) {
  SyncClock();
  failing_journal_.fail_attempt = true;
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  absl::StatusOr<BorrowResponse> r = Run(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ((**journal_->Get(request.request_id())).state, Outcome::kRejected)
      << "nothing was sent: settled as not executed";
  EXPECT_TRUE(journal_->Attempts(request.request_id())->empty());
  // The weight it reserved went back: three borrows still fit the budget.
  failing_journal_.fail_attempt = false;
  for (int i = 0; i < 3; ++i) {
    transport_.script.push_back(
        Answer(200, absl::StrCat(R"({"transactionId":)", 10 + i,
                                 R"(,"amount":10,"status":success})")));
    EXPECT_TRUE(Run(Request()).ok()) << i;
  }
}

TEST_F(OperationPipelineTest,
       AnOutcomeThatCannotBeJournaledIsAnsweredAndLeftForReconciliation) {
  SyncClock();
  std::ostringstream& log = CapturedLog();
  failing_journal_.fail_outcome = true;
  transport_.script.push_back(Answer(200, kSuccess));
  absl::StatusOr<BorrowResponse> r = Run(Request());
  ASSERT_TRUE(r.ok()) << "the caller still learns what Binance did";
  EXPECT_EQ(r->transaction_id(), "1");
  const JournalRecord record = **journal_->Get(r->request_id());
  EXPECT_EQ(record.state, Outcome::kPending)
      << "the intent stays open: the reconciler settles it from Binance";
  EXPECT_TRUE(
      absl::StrContains(log.str(), R"("event":"journal_outcome_failed")"))
      << log.str();
  // The risk unit was handed on all the same; as far as the journal knows
  // that attempt may still be open, so the next borrow waits out its window.
  failing_journal_.fail_outcome = false;
  std::unique_ptr<Pending> next = Start(Request());
  Settle();
  ASSERT_EQ(scheduler_.tasks.size(), 1u);
  clock_.now += scheduler_.delays[0];
  transport_.script.push_back(
      Answer(200, R"({"transactionId":2,"amount":10,"status":success})"));
  scheduler_.RunAll();
  EXPECT_TRUE(Await(*next).ok());
}

TEST_F(OperationPipelineTest, TheJournalsExecutorNeitherSignsNorAnswers) {
  SyncClock();
  std::vector<bool> sent_on_journal_executor;
  transport_.on_send = [&] {
    sent_on_journal_executor.push_back(on_journal_executor_);
  };
  transport_.script.push_back(Answer(200, kSuccess));
  bool answered_on_journal_executor = true;
  std::unique_ptr<Pending> call = Start(Request());
  Settle();
  ASSERT_TRUE(call->done.HasBeenNotified());
  pipeline_.Borrow(Request(), "test", deadline_,
                   [&](absl::StatusOr<BorrowResponse>) {
                     answered_on_journal_executor = on_journal_executor_;
                   });
  transport_.script.push_back(
      Answer(200, R"({"transactionId":2,"amount":10,"status":success})"));
  Settle();
  EXPECT_EQ(sent_on_journal_executor, std::vector<bool>({false, false}));
  EXPECT_FALSE(answered_on_journal_executor);
}

// A repeat arriving once the first call's rejection is durable, but before
// that call has answered, gets the journaled answer and writes nothing: the
// rejection is not reopened into a PENDING record that nobody sends.
TEST_F(OperationPipelineTest, ARepeatBeforeTheFirstAnswersReopensNothing) {
  SyncClock();
  transport_.script.push_back(
      Answer(400, R"({"code":-27025,"msg":"pending"})"));
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  std::unique_ptr<Pending> first = Start(request);
  auto state = [&] {
    auto record = journal_->Get(request.request_id());
    return record.ok() && record->has_value() ? (*record)->state
                                              : Outcome::kPending;
  };
  for (int i = 0; i < 100 && state() != Outcome::kRejected; ++i) {
    on_journal_executor_ = true;
    journal_executor_.RunUntilIdle();
    on_journal_executor_ = false;
    if (state() != Outcome::kRejected) call_executor_.RunUntilIdle();
  }
  ASSERT_EQ(state(), Outcome::kRejected);
  ASSERT_TRUE(pipeline_.WorkingOn(request.request_id())) << "not answered";
  std::unique_ptr<Pending> repeat = Start(request);
  EXPECT_EQ(Await(*first).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Await(*repeat).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(state(), Outcome::kRejected) << "nothing reopened";
  EXPECT_TRUE((*journal_->Get(request.request_id()))->retryable);
  EXPECT_EQ(transport_.sent.size(), 1u);
}

TEST_F(OperationPipelineTest, ARepeatInProgressFollowsTheFirstCall) {
  SyncClock();
  BorrowRequest request = Request();
  request.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  std::unique_ptr<Pending> first = Start(request);
  std::unique_ptr<Pending> repeat = Start(request);
  // Both intents go through the journal before the first is sent.
  on_journal_executor_ = true;
  journal_executor_.RunUntilIdle();
  on_journal_executor_ = false;
  EXPECT_TRUE(pipeline_.WorkingOn(request.request_id()));
  transport_.script.push_back(Answer(200, kSuccess));
  absl::StatusOr<BorrowResponse> a = Await(*first);
  absl::StatusOr<BorrowResponse> b = Await(*repeat);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->transaction_id(), b->transaction_id());
  EXPECT_EQ(transport_.sent.size(), 1u) << "one borrow, two answers";
  EXPECT_FALSE(pipeline_.WorkingOn(request.request_id()));
}

}  // namespace
}  // namespace loan_gateway
