#include "journal/borrow_journal.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace loan_gateway {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS borrows (
  request_id     TEXT PRIMARY KEY,
  caller         TEXT NOT NULL,
  group_id       INTEGER NOT NULL,
  asset          TEXT NOT NULL,
  amount         TEXT NOT NULL,
  created_ms     INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  state          TEXT NOT NULL,
  reconciled     INTEGER NOT NULL DEFAULT 0,
  retryable      INTEGER NOT NULL DEFAULT 0,
  transaction_id TEXT,
  error          BLOB
);
CREATE INDEX IF NOT EXISTS borrows_state ON borrows(state, created_ms);
-- A Binance transaction belongs to one borrow at most.
CREATE UNIQUE INDEX IF NOT EXISTS borrows_transaction ON borrows(transaction_id)
  WHERE transaction_id != '';
)sql";

constexpr char kColumns[] =
    "request_id, caller, group_id, asset, amount, created_ms, updated_ms, "
    "state, "
    "reconciled, retryable, transaction_id, error";

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Statement& Bind(int i, const std::string& text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_blob(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(static_cast<const char*>(p),
                                      sqlite3_column_bytes(stmt_, col));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  absl::Status Error(absl::string_view what) const {
    return absl::UnavailableError(
        absl::StrCat("journal ", what, ": ", sqlite3_errmsg(db_)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

JournalState ParseState(const std::string& text) {
  if (text == "SUCCEEDED") return JournalState::kSucceeded;
  if (text == "REJECTED") return JournalState::kRejected;
  if (text == "UNKNOWN") return JournalState::kUnknown;
  return JournalState::kPending;
}

JournalRecord ReadRecord(const Statement& s) {
  JournalRecord r;
  r.request_id = s.Text(0);
  r.caller = s.Text(1);
  r.group_id = s.Int(2);
  r.asset = s.Text(3);
  r.amount = s.Text(4);
  r.created = absl::FromUnixMillis(s.Int(5));
  r.updated = absl::FromUnixMillis(s.Int(6));
  r.state = ParseState(s.Text(7));
  r.reconciled = s.Int(8) != 0;
  r.retryable = s.Int(9) != 0;
  r.transaction_id = s.Text(10);
  r.error = s.Text(11);
  return r;
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

absl::string_view JournalStateName(JournalState state) {
  switch (state) {
    case JournalState::kPending:
      return "PENDING";
    case JournalState::kSucceeded:
      return "SUCCEEDED";
    case JournalState::kRejected:
      return "REJECTED";
    case JournalState::kUnknown:
      return "UNKNOWN";
  }
  return "PENDING";
}

absl::StatusOr<std::unique_ptr<BorrowJournal>> BorrowJournal::Open(
    const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(
          path.c_str(), &db,
          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
          nullptr) != SQLITE_OK) {
    std::string error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot open journal ", path, ": ", error));
  }
  std::unique_ptr<BorrowJournal> journal(new BorrowJournal(db));
  absl::MutexLock lock(&journal->mu_);
  sqlite3_busy_timeout(db, 2000);
  for (const char* sql :
       {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", kSchema}) {
    if (absl::Status s = journal->Exec(sql); !s.ok()) return s;
  }
  return journal;
}

BorrowJournal::~BorrowJournal() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status BorrowJournal::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status =
        absl::UnavailableError(absl::StrCat("journal: ", error ? error : "?"));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<JournalRecord>> BorrowJournal::GetLocked(
    const std::string& request_id) {
  Statement s(db_, absl::StrCat("SELECT ", kColumns,
                                " FROM borrows WHERE request_id = ?"));
  if (!s.ok()) return s.Error("read");
  s.Bind(1, request_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<JournalRecord>();
  if (rc != SQLITE_ROW) return s.Error("read");
  return std::optional<JournalRecord>(ReadRecord(s));
}

absl::StatusOr<std::optional<JournalRecord>> BorrowJournal::Get(
    const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  return GetLocked(request_id);
}

absl::StatusOr<std::optional<JournalRecord>> BorrowJournal::InsertIntent(
    const JournalRecord& intent) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  auto rollback = [&](absl::Status status) {
    Exec("ROLLBACK;").IgnoreError();
    return status;
  };
  absl::StatusOr<std::optional<JournalRecord>> existing =
      GetLocked(intent.request_id);
  if (!existing.ok()) return rollback(existing.status());
  const int64_t now = NowMs();
  if (existing->has_value()) {
    const JournalRecord& old = **existing;
    const bool retry = old.state == JournalState::kRejected && old.retryable &&
                       !old.reconciled && old.SameIntent(intent);
    if (!retry) {
      Exec("COMMIT;").IgnoreError();
      return existing;
    }
    Statement s(
        db_,
        "UPDATE borrows SET state = 'PENDING', retryable = 0, error = NULL, "
        "created_ms = ?, updated_ms = ? WHERE request_id = ?");
    // A new attempt starts a new window for reconciliation.
    s.Bind(1, absl::ToUnixMillis(intent.created))
        .Bind(2, now)
        .Bind(3, intent.request_id);
    if (!s.ok() || s.Step() != SQLITE_DONE) return rollback(s.Error("write"));
  } else {
    Statement s(
        db_,
        absl::StrCat(
            "INSERT INTO borrows (", kColumns,
            ") VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, 0, NULL, NULL)"));
    s.Bind(1, intent.request_id)
        .Bind(2, intent.caller)
        .Bind(3, intent.group_id)
        .Bind(4, intent.asset)
        .Bind(5, intent.amount)
        .Bind(6, absl::ToUnixMillis(intent.created))
        .Bind(7, now);
    if (!s.ok() || s.Step() != SQLITE_DONE) return rollback(s.Error("write"));
  }
  if (absl::Status s = Exec("COMMIT;"); !s.ok()) return rollback(s);
  return std::optional<JournalRecord>();
}

absl::Status BorrowJournal::RecordOutcome(const std::string& request_id,
                                          JournalState state, bool reconciled,
                                          bool retryable,
                                          const std::string& transaction_id,
                                          const std::string& error) {
  absl::MutexLock lock(&mu_);
  Statement s(
      db_,
      "UPDATE borrows SET state = ?, reconciled = ?, retryable = ?, "
      "transaction_id = ?, error = ?, updated_ms = ? WHERE request_id = ? "
      "AND (state = 'PENDING' OR (state = 'UNKNOWN' AND ?))");
  if (!s.ok()) return s.Error("write");
  s.Bind(1, std::string(JournalStateName(state)))
      .Bind(2, int64_t{reconciled})
      .Bind(3, int64_t{retryable});
  s.Bind(4, transaction_id)
      .BindBlob(5, error)
      .Bind(6, NowMs())
      .Bind(7, request_id)
      .Bind(8, int64_t{reconciled});
  if (s.Step() != SQLITE_DONE) return s.Error("write");
  if (sqlite3_changes(db_) != 1) {
    // Never overwrite a settled outcome (e.g. reconciliation racing the call).
    return absl::FailedPreconditionError(
        absl::StrCat("journal has no unsettled intent ", request_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JournalRecord>> BorrowJournal::Unsettled() {
  absl::MutexLock lock(&mu_);
  Statement s(
      db_, absl::StrCat("SELECT ", kColumns,
                        " FROM borrows WHERE state IN ('PENDING', 'UNKNOWN') "
                        "ORDER BY created_ms"));
  if (!s.ok()) return s.Error("read");
  std::vector<JournalRecord> records;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) records.push_back(ReadRecord(s));
  if (rc != SQLITE_DONE) return s.Error("read");
  return records;
}

absl::StatusOr<bool> BorrowJournal::TransactionClaimed(
    const std::string& transaction_id) {
  absl::MutexLock lock(&mu_);
  Statement s(db_, "SELECT 1 FROM borrows WHERE transaction_id = ? LIMIT 1");
  if (!s.ok()) return s.Error("read");
  s.Bind(1, transaction_id);
  const int rc = s.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return s.Error("read");
  return rc == SQLITE_ROW;
}

absl::StatusOr<int> BorrowJournal::PurgeSettledBefore(absl::Time cutoff) {
  absl::MutexLock lock(&mu_);
  Statement s(db_,
              "DELETE FROM borrows WHERE state IN ('SUCCEEDED', 'REJECTED') "
              "AND updated_ms < ?");
  if (!s.ok()) return s.Error("write");
  s.Bind(1, absl::ToUnixMillis(cutoff));
  if (s.Step() != SQLITE_DONE) return s.Error("write");
  return sqlite3_changes(db_);
}

}  // namespace loan_gateway
