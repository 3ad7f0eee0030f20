#ifndef LOAN_GATEWAY_SERVER_TESTING_FAILING_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_TESTING_FAILING_JOURNAL_H_

// A journal that fails on demand: the stages above the journal must answer
// correctly when a durable write does not happen (a full disk, a lost file).

#include <atomic>
#include <utility>

#include "journal/borrow_journal.h"

namespace loan_gateway::test_doubles {

// Passes every call to `inner` unless the test made that kind of write fail,
// in which case it returns UNAVAILABLE and writes nothing. It can also play
// another gateway sharing the journal: a risk unit's turn held elsewhere for
// the next `busy_elsewhere` attempts, a request_id in flight elsewhere while
// its record is PENDING.
class FailingJournal : public BorrowJournal {
 public:
  explicit FailingJournal(BorrowJournal& inner) : inner_(inner) {}

  std::atomic<bool> fail_intent{false};
  std::atomic<bool> fail_attempt{false};
  std::atomic<bool> fail_outcome{false};
  std::atomic<int> busy_elsewhere{0};
  std::string in_flight_elsewhere;  // A request_id (set before the call).
  // Leads reconciliation for this many more asks, then another gateway
  // does (negative: as `inner` says).
  std::atomic<int> leads_for{-1};

  absl::StatusOr<std::optional<JournalRecord>> InsertIntent(
      const JournalRecord& intent) override {
    if (fail_intent) return Failure();
    return Elsewhere(inner_.InsertIntent(intent));
  }
  absl::StatusOr<OutcomeWritten> RecordOutcome(
      const std::string& request_id, const OutcomeToRecord& outcome) override {
    if (fail_outcome) return Failure();
    return inner_.RecordOutcome(request_id, outcome);
  }
  absl::Status BeginAttempt(const AttemptRecord& attempt) override {
    if (fail_attempt) return Failure();
    if (busy_elsewhere > 0) {
      --busy_elsewhere;
      return RiskUnitBusyElsewhere("held by another gateway (test)");
    }
    return inner_.BeginAttempt(attempt);
  }
  absl::StatusOr<std::vector<AttemptRecord>> Attempts(
      const std::string& request_id) override {
    return inner_.Attempts(request_id);
  }
  absl::StatusOr<std::vector<AttemptRecord>> OpenAttempts(
      int64_t group_id, const std::string& asset) override {
    return inner_.OpenAttempts(group_id, asset);
  }
  absl::StatusOr<std::optional<int64_t>> LatestOpenWindowEnd(
      int64_t group_id, const std::string& except_request_id) override {
    return inner_.LatestOpenWindowEnd(group_id, except_request_id);
  }
  absl::Status SetNote(const std::string& request_id,
                       const std::string& note) override {
    return inner_.SetNote(request_id, note);
  }
  absl::Status CheckIntact() const override { return inner_.CheckIntact(); }
  absl::Status CheckWriter() override { return inner_.CheckWriter(); }
  bool writer() const override { return inner_.writer(); }
  absl::StatusOr<std::optional<JournalRecord>> Get(
      const std::string& request_id) override {
    return Elsewhere(inner_.Get(request_id));
  }
  UnsettledCount CountUnsettled(
      const std::function<bool(const std::string&)>& skip) const override {
    return inner_.CountUnsettled(skip);
  }
  absl::StatusOr<std::vector<JournalRecord>> Unsettled() override {
    return inner_.Unsettled();
  }
  absl::StatusOr<std::vector<CallerBorrow>> CallerBorrowsSince(
      const std::string& caller, const std::string& asset,
      absl::Time since) override {
    return inner_.CallerBorrowsSince(caller, asset, since);
  }
  absl::StatusOr<std::vector<JournalRecord>> List(
      const RecordQuery& query) override {
    return inner_.List(query);
  }
  absl::StatusOr<bool> TransactionClaimed(
      const std::string& transaction_id) override {
    return inner_.TransactionClaimed(transaction_id);
  }
  absl::StatusOr<int> PurgeSettledBefore(absl::Time cutoff) override {
    return inner_.PurgeSettledBefore(cutoff);
  }
  absl::Status LockCallerCaps(const std::string& caller,
                              const std::string& asset) override {
    return inner_.LockCallerCaps(caller, asset);
  }
  absl::StatusOr<bool> TryLeadReconciliation() override {
    if (leads_for < 0) return inner_.TryLeadReconciliation();
    if (leads_for == 0) return false;
    --leads_for;
    return true;
  }
  absl::Status ReleaseAbandoned(
      const std::function<bool(const std::string&)>& in_flight) override {
    return inner_.ReleaseAbandoned(in_flight);
  }

 private:
  absl::StatusOr<std::optional<JournalRecord>> Elsewhere(
      absl::StatusOr<std::optional<JournalRecord>> found) const {
    if (found.ok() && found->has_value() &&
        (*found)->request_id == in_flight_elsewhere &&
        (*found)->state == Outcome::kPending) {
      (*found)->in_flight_elsewhere = true;
    }
    return found;
  }
  static absl::Status Failure() {
    return absl::UnavailableError("disk I/O error (test)");
  }
  BorrowJournal& inner_;
};

}  // namespace loan_gateway::test_doubles

#endif  // LOAN_GATEWAY_SERVER_TESTING_FAILING_JOURNAL_H_
