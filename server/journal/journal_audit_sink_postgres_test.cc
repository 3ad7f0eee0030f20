// The audit log in the PostgreSQL journal's table, written through the
// journal's own session, on a real PostgreSQL the test starts: a chain
// continues, an edited row is refused and named, a database restart fails a
// batch only, and the log then goes on from where its chain ends.
#include <csignal>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/audit_log.h"
#include "audit/postgres_audit_table.h"
#include "gtest/gtest.h"
#include "journal/journal_audit_sink.h"
#include "journal/postgres_borrow_journal.h"
#include "postgres/postgres_connection.h"
#include "testing/test_doubles.h"
#include "throwaway_postgres_fixture.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::testing::ThrowawayPostgres;

audit::v1::AuditRecord Answered(const std::string& request_id) {
  audit::v1::AuditRecord record;
  record.set_kind(audit::v1::CALL_ANSWERED);
  record.set_caller("spiffe://lg/ns/treasury/sa/rebalancer");
  record.set_request_id(request_id);
  return record;
}

class PostgresJournalAuditTest
    : public ::loan_gateway::testing::WithThrowawayPostgres {
 protected:
  // A gateway's: the log on its journal, with no driver (each record in a
  // transaction of its own; the journal's groups are journal_audit_sink_test's
  // part, and with PostgreSQL the integration tests' "postgres." runs).
  absl::StatusOr<std::unique_ptr<AuditLog>> OpenLog(const std::string& chain) {
    if (journal_ == nullptr) {
      auto journal =
          PostgresBorrowJournal::Open(pg_->url(), {.create_if_missing = true});
      if (!journal.ok()) return journal.status();
      journal_ = *std::move(journal);
    }
    return AuditLog::OpenDriven(
        std::make_unique<JournalAuditSink>(journal_.get(), chain, chain),
        &clock_);
  }
  void Exec(const std::string& sql) {
    auto db = PostgresConnection::Open(pg_->url());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }

  test_doubles::ManualClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<PostgresBorrowJournal> journal_;
};

TEST_F(PostgresJournalAuditTest, ChainsContinueVerifyAndAnEditIsNamed) {
  {
    auto log = OpenLog("host-a/1/1");
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*log)->AppendAndWait(Answered(absl::StrCat("r", i))).ok());
    }
    EXPECT_EQ((*log)->head().seq, 4u) << "AUDIT_OPENED and three";
  }
  auto other = OpenLog("host-b/2/2");
  ASSERT_TRUE(other.ok()) << other.status();
  auto again = OpenLog("host-a/1/1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->head().seq, 5u) << "continued, not a new chain";
  again->reset();
  absl::StatusOr<std::vector<AuditChainHead>> heads =
      VerifyAuditTable(pg_->url(), "");
  ASSERT_TRUE(heads.ok()) << heads.status();
  ASSERT_EQ(heads->size(), 2u);
  EXPECT_EQ((*heads)[0].chain, "host-a/1/1");
  EXPECT_EQ((*heads)[0].head.seq, 5u);

  Exec(
      "UPDATE audit_log SET line = replace(line, '\"r1\"', '\"r9\"') "
      "WHERE chain = 'host-a/1/1' AND seq = 3");
  heads = VerifyAuditTable(pg_->url(), "");
  EXPECT_EQ(heads.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(heads.status().message(), "host-a/1/1"))
      << heads.status();
  EXPECT_TRUE(absl::StrContains(heads.status().message(), "seq 3"))
      << heads.status();
  auto refused = OpenLog("host-a/1/1");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition)
      << "an edited chain is not continued";
}

// A file's log fails closed for good after a failed write; a database's
// fails that batch (nothing signed for it) and goes on once it can read
// where its chain ends.
TEST_F(PostgresJournalAuditTest, ADatabaseRestartFailsABatchThenTheLogGoesOn) {
  auto log = OpenLog("host-a/1/1");
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->AppendAndWait(Answered("before")).ok());
  ASSERT_TRUE(pg_->Stop(SIGKILL).ok());
  absl::Status down = (*log)->AppendAndWait(Answered("during"));
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_EQ((*log)->AppendAndWait(Answered("still")).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(pg_->Restart().ok());
  // What readiness does every second: the journal's new session takes this
  // gateway's replica lock again before it writes.
  for (int i = 0; i < 50 && !journal_->CheckWriter().ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE((*log)->AppendAndWait(Answered("after")).ok());
  EXPECT_TRUE((*log)->writable());
  EXPECT_EQ((*log)->head().seq, 3u) << "AUDIT_OPENED, before, after";
  absl::StatusOr<std::vector<AuditChainHead>> heads =
      VerifyAuditTable(pg_->url(), "");
  ASSERT_TRUE(heads.ok()) << heads.status();
  EXPECT_EQ((*heads)[0].head.seq, 3u);
}

}  // namespace
}  // namespace loan_gateway
