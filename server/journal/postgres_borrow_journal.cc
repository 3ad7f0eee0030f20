#include "journal/postgres_borrow_journal.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "log/json_log.h"
#include "postgres/postgres_connection.h"

namespace loan_gateway {
namespace {

// The SQLite journal's schema (sqlite_borrow_journal.cc says why each part
// is there) in PostgreSQL's types. request_id compares bytewise ("C"), as in
// SQLite, so that ListOperations' keyset pages do not depend on the
// database's locale.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS borrows (
  request_id     TEXT COLLATE "C" PRIMARY KEY,
  caller         TEXT NOT NULL,
  group_id       BIGINT NOT NULL,
  asset          TEXT NOT NULL,
  amount         TEXT NOT NULL,
  created_ms     BIGINT NOT NULL,
  updated_ms     BIGINT NOT NULL,
  state          TEXT NOT NULL,
  reconciled     BOOLEAN NOT NULL DEFAULT false,
  retryable      BOOLEAN NOT NULL DEFAULT false,
  transaction_id TEXT,
  error          BYTEA,
  note           TEXT,
  kind           TEXT NOT NULL DEFAULT 'BORROW',
  result_amount  TEXT
);
CREATE INDEX IF NOT EXISTS borrows_state ON borrows(state, created_ms);
CREATE INDEX IF NOT EXISTS borrows_caller ON borrows(caller, asset, created_ms);
CREATE INDEX IF NOT EXISTS borrows_created ON borrows(created_ms, request_id);
CREATE UNIQUE INDEX IF NOT EXISTS borrows_transaction ON borrows(transaction_id)
  WHERE transaction_id <> '';
CREATE TABLE IF NOT EXISTS attempts (
  request_id     TEXT COLLATE "C" NOT NULL,
  seq            INTEGER NOT NULL,
  group_id       BIGINT NOT NULL,
  asset          TEXT NOT NULL,
  amount         TEXT NOT NULL,
  signed_ms      BIGINT NOT NULL,
  recv_window_ms BIGINT NOT NULL,
  state          TEXT NOT NULL,
  kind           TEXT NOT NULL DEFAULT 'BORROW',
  PRIMARY KEY (request_id, seq)
);
CREATE INDEX IF NOT EXISTS attempts_open ON attempts(group_id, state, asset);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta (name, value) VALUES ('schema_version', '2')
  ON CONFLICT (name) DO NOTHING;
)sql";

// The session advisory lock that makes one gateway the journal's writer.
constexpr char kHolderLock[] = "7308613712466637312";  // "loan-gw" in ASCII.
// Held while tables are made, so that two first starts do not race.
constexpr char kSchemaLock[] = "7308613712466637313";

constexpr char kColumns[] =
    "request_id, caller, group_id, asset, amount, created_ms, updated_ms, "
    "state, reconciled, retryable, transaction_id, error, note, kind, "
    "result_amount";
constexpr char kAttemptColumns[] =
    "request_id, seq, group_id, asset, amount, signed_ms, recv_window_ms, "
    "state, kind";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }
std::string Ms(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }
std::string Bool(bool b) { return b ? "true" : "false"; }

// bytea travels as text in its hex form, \x then two digits a byte.
std::string ByteaParam(const std::string& bytes) {
  return absl::StrCat("\\x", absl::BytesToHexString(bytes));
}
std::string FromBytea(const std::string& text) {
  if (!absl::StartsWith(text, "\\x")) return text;
  return absl::HexStringToBytes(text.substr(2));
}

int64_t ToInt(const std::optional<std::string>& text) {
  return text.has_value() ? std::atoll(text->c_str()) : 0;
}

JournalRecord ReadRecord(const PostgresRows& rows, int i) {
  auto text = [&](int col) { return rows.At(i, col).value_or(""); };
  JournalRecord r;
  r.request_id = text(0);
  r.caller = text(1);
  r.group_id = ToInt(rows.At(i, 2));
  r.asset = text(3);
  r.amount = text(4);
  r.created = absl::FromUnixMillis(ToInt(rows.At(i, 5)));
  r.updated = absl::FromUnixMillis(ToInt(rows.At(i, 6)));
  r.state = ParseOutcome(text(7)).value_or(Outcome::kPending);
  r.reconciled = text(8) == "t";
  r.retryable = text(9) == "t";
  r.transaction_id = text(10);
  r.error = FromBytea(text(11));
  r.note = text(12);
  r.kind = ParseOperationKind(text(13)).value_or(OperationKind::kBorrow);
  r.result_amount = text(14);
  return r;
}

AttemptRecord ReadAttempt(const PostgresRows& rows, int i) {
  auto text = [&](int col) { return rows.At(i, col).value_or(""); };
  AttemptRecord a;
  a.request_id = text(0);
  a.seq = static_cast<int>(ToInt(rows.At(i, 1)));
  a.group_id = ToInt(rows.At(i, 2));
  a.asset = text(3);
  a.amount = text(4);
  a.signed_ms = ToInt(rows.At(i, 5));
  a.recv_window_ms = ToInt(rows.At(i, 6));
  a.state = ParseAttemptState(text(7));
  a.kind = ParseOperationKind(text(8)).value_or(OperationKind::kBorrow);
  return a;
}

// Every failure of storage is UNAVAILABLE to the stages above (the journal
// could not answer: nothing is signed), as the SQLite journal's are; the
// SQLSTATE stays in the message for the operator.
absl::Status JournalError(const absl::Status& status, absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("journal ", what, ": ", status.message()));
}

std::string HolderName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat("pid ", getpid(), " on ", host);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresBorrowJournal>>
PostgresBorrowJournal::Open(const std::string& url,
                            const JournalOpenOptions& options) {
  std::unique_ptr<PostgresBorrowJournal> journal(new PostgresBorrowJournal());
  PostgresBorrowJournal* j = journal.get();
  absl::StatusOr<std::unique_ptr<PostgresConnection>> db =
      PostgresConnection::Open(url,
                               {.password_file = options.password_file,
                                .on_connect = [j](PostgresConnection& session) {
                                  return j->TryTakeWriterLock(session);
                                }});
  if (!db.ok()) return JournalError(db.status(), "open");
  {
    JournalGroupLock::Scoped lock(&journal->mu_);
    journal->db_ = *std::move(db);
  }
  if (absl::Status s = journal->Prepare(options.create_if_missing); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<JournalRecord>> unsettled = journal->Unsettled();
  if (!unsettled.ok()) return unsettled.status();
  journal->opened_.store(true);
  if (!journal->writer_.load()) {
    LogLine("warn", "journal_standby")
        .Str("writer", journal->WriterSeen())
        .Str("effect",
             "not serving until that gateway's database session ends; then "
             "this one takes over")
        .Emit();
  }
  return journal;
}

PostgresBorrowJournal::PostgresBorrowJournal() = default;

PostgresBorrowJournal::~PostgresBorrowJournal() = default;

absl::Status PostgresBorrowJournal::Prepare(bool create_if_missing) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> exists =
      db_->Exec("SELECT to_regclass('borrows') IS NOT NULL");
  if (!exists.ok()) return JournalError(exists.status(), "open");
  if (exists->At(0, 0) != "t" && !create_if_missing) {
    return absl::FailedPreconditionError(
        "the journal's database has no journal tables. If this is the "
        "gateway's first start, start it once with --create_journal. If a "
        "journal existed there, restore it: an empty one would forget every "
        "request_id and every borrow whose outcome is still unknown");
  }
  absl::Status made =
      db_->ExecScript(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(",
                                   kSchemaLock, "); ", kSchema, "COMMIT;"));
  if (!made.ok()) {
    db_->ExecScript("ROLLBACK;").IgnoreError();
    return JournalError(made, "schema");
  }
  // A real write now, so that a database that cannot take one stops the
  // start instead of refusing every borrow later (a standby's is its own
  // row: the writer's name is the writer's to write).
  const char* opened =
      writer_.load() ? "last_opened_ms" : "standby_last_opened_ms";
  if (absl::Status s = WriteMeta(opened, absl::StrCat(NowMs())); !s.ok()) {
    return s;
  }
  return writer_.load() ? WriteMeta("holder", HolderName()) : absl::OkStatus();
}

absl::Status PostgresBorrowJournal::WriteMeta(const std::string& name,
                                              const std::string& value) {
  absl::StatusOr<PostgresRows> wrote = db_->Exec(
      "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) "
      "DO UPDATE SET value = EXCLUDED.value",
      {name, value});
  return wrote.ok() ? absl::OkStatus()
                    : JournalError(wrote.status(), "write at open");
}

void PostgresBorrowJournal::ReloadUnsettledIndex() {
  if (absl::StatusOr<std::vector<JournalRecord>> u = UnsettledLocked();
      u.ok()) {
    unsettled_.Reset(*u);
  }
}

// On every new session: the writer's lock, or standby. Never an error for a
// lock someone else holds (a standby serves nothing but is not broken).
absl::Status PostgresBorrowJournal::TryTakeWriterLock(
    PostgresConnection& session) {
  absl::StatusOr<PostgresRows> took =
      session.Exec("SELECT pg_try_advisory_lock($1::bigint)", {kHolderLock});
  if (!took.ok()) return JournalError(took.status(), "lock");
  const bool writer = took->At(0, 0) == "t";
  const bool was = writer_.exchange(writer);
  // A standby whose reconnect found the lock free takes over here, as
  // CheckWriter would (never at open: the tables may not exist yet).
  if (writer && !was && opened_.load()) return BecomeWriter();
  if (writer) return absl::OkStatus();
  absl::StatusOr<PostgresRows> holder =
      session.Exec("SELECT value FROM meta WHERE name = 'holder'");
  {
    absl::MutexLock lock(&writer_mu_);
    writer_seen_ = holder.ok() && holder->size() == 1
                       ? holder->At(0, 0).value_or("unknown")
                       : "unknown";
  }
  if (was) {
    LogLine("error", "journal_writer_lost")
        .Str("writer", WriterSeen())
        .Str("effect",
             "this gateway's database session ended and another gateway took "
             "the journal: nothing more is written here")
        .Emit();
  }
  return absl::OkStatus();
}

std::string PostgresBorrowJournal::WriterSeen() const {
  absl::MutexLock lock(&writer_mu_);
  return writer_seen_;
}

absl::Status PostgresBorrowJournal::CheckWriter() {
  JournalGroupLock::Scoped lock(&mu_);
  // A read notices a lost session (and reconnecting decides again).
  if (absl::StatusOr<PostgresRows> alive = db_->Query("SELECT 1");
      !alive.ok()) {
    return JournalError(alive.status(), "check");
  }
  if (!writer_.load()) {
    // The same try as on a new session (taking over when it is free).
    if (absl::Status s = TryTakeWriterLock(*db_); !s.ok()) return s;
    if (!writer_.load()) return StandbyError();
  }
  return absl::OkStatus();
}

// The writer's lock was just taken over: this gateway's name goes in the
// journal (standbys name it), and what the last writer left unsettled is
// this one's to settle now.
absl::Status PostgresBorrowJournal::BecomeWriter() {
  if (absl::Status s = WriteMeta("holder", HolderName()); !s.ok()) return s;
  ReloadUnsettledIndex();
  LogLine("info", "journal_writer_taken_over")
      .Str("previous_writer", WriterSeen())
      .Emit();
  return absl::OkStatus();
}

// mu_ stays held from here to CommitGroup: no other thread may read what
// the group has not committed, or add its own writes to it.
absl::Status PostgresBorrowJournal::BeginGroup()
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu_.BeginGroup();
  if (absl::Status begun = db_->Begin(); !begun.ok()) {
    mu_.EndGroup();
    return JournalError(begun, "begin");
  }
  group_failed_ = false;
  return absl::OkStatus();
}

absl::Status PostgresBorrowJournal::CommitGroup()
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!mu_.InGroup()) {
    return absl::FailedPreconditionError("no journal group open here");
  }
  absl::Status committed = absl::OkStatus();
  if (group_failed_) {
    db_->Rollback();
    committed = absl::UnavailableError(
        "journal: a write failed in a way that undid its group");
  } else if (absl::Status c = db_->Commit(); !c.ok()) {
    committed = JournalError(c, "commit");
  }
  // The group's writes had updated the index; storage has the truth.
  if (!committed.ok()) ReloadUnsettledIndex();
  mu_.EndGroup();
  return committed;
}

absl::Status PostgresBorrowJournal::StandbyError() const {
  absl::MutexLock lock(&writer_mu_);
  return absl::UnavailableError(absl::StrCat(
      "journal: this gateway is a standby: another gateway (", writer_seen_,
      ") writes the journal's database; this one takes over when that one's "
      "session ends"));
}

absl::Status PostgresBorrowJournal::BeginWrite() {
  if (!mu_.InGroup()) {
    if (absl::Status begun = db_->Begin(); !begun.ok()) {
      return JournalError(begun, "begin");
    }
  } else if (group_failed_ || !db_->in_transaction()) {
    // A lost session took the group's earlier writes with it.
    group_failed_ = true;
    return absl::UnavailableError(
        "journal: an earlier write undid this group's transaction");
  }
  // Checked inside the transaction: its session holds the writer's lock
  // (or not) until it ends, and a session lost meanwhile ends it.
  if (!writer_.load()) {
    if (!mu_.InGroup()) db_->Rollback();
    return StandbyError();
  }
  if (!mu_.InGroup()) return absl::OkStatus();
  absl::StatusOr<PostgresRows> saved = db_->Exec("SAVEPOINT journal_write");
  if (!saved.ok()) group_failed_ = true;
  return saved.ok() ? absl::OkStatus() : JournalError(saved.status(), "write");
}

absl::Status PostgresBorrowJournal::EndWrite() {
  if (!mu_.InGroup()) {
    absl::Status committed = db_->Commit();
    return committed.ok() ? committed : JournalError(committed, "commit");
  }
  absl::StatusOr<PostgresRows> released =
      db_->Exec("RELEASE SAVEPOINT journal_write");
  if (!released.ok()) group_failed_ = true;
  return released.ok() ? absl::OkStatus()
                       : JournalError(released.status(), "write");
}

void PostgresBorrowJournal::UndoWrite() {
  if (!mu_.InGroup()) {
    db_->Rollback();
    return;
  }
  if (!db_->connected() ||
      !db_->ExecScript("ROLLBACK TO SAVEPOINT journal_write; RELEASE SAVEPOINT "
                       "journal_write;")
           .ok()) {
    group_failed_ = true;
  }
}

absl::StatusOr<std::optional<JournalRecord>> PostgresBorrowJournal::GetLocked(
    const std::string& request_id) {
  absl::StatusOr<std::vector<JournalRecord>> found = ReadRecords(
      absl::StrCat("SELECT ", kColumns, " FROM borrows WHERE request_id = $1"),
      {request_id});
  if (!found.ok()) return found.status();
  if (found->empty()) return std::optional<JournalRecord>();
  return std::optional<JournalRecord>(std::move(found->front()));
}

absl::StatusOr<std::optional<JournalRecord>> PostgresBorrowJournal::Get(
    const std::string& request_id) {
  JournalGroupLock::Scoped lock(&mu_);
  return GetLocked(request_id);
}

absl::StatusOr<std::vector<JournalRecord>> PostgresBorrowJournal::ReadRecords(
    const std::string& sql, const std::vector<std::string>& params) {
  absl::StatusOr<PostgresRows> rows = db_->Query(sql, params);
  if (!rows.ok()) return JournalError(rows.status(), "read");
  std::vector<JournalRecord> records;
  records.reserve(rows->size());
  for (int i = 0; i < rows->size(); ++i)
    records.push_back(ReadRecord(*rows, i));
  return records;
}

absl::StatusOr<std::vector<AttemptRecord>> PostgresBorrowJournal::ReadAttempts(
    const std::string& sql, const std::vector<std::string>& params) {
  absl::StatusOr<PostgresRows> rows = db_->Query(sql, params);
  if (!rows.ok()) return JournalError(rows.status(), "read");
  std::vector<AttemptRecord> attempts;
  attempts.reserve(rows->size());
  for (int i = 0; i < rows->size(); ++i) {
    attempts.push_back(ReadAttempt(*rows, i));
  }
  return attempts;
}

absl::StatusOr<std::optional<JournalRecord>>
PostgresBorrowJournal::InsertIntent(const JournalRecord& intent) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  auto rollback = [&](absl::Status status) {
    UndoWrite();
    return status;
  };
  const std::string now = absl::StrCat(NowMs());
  // The insert itself answers whether the request_id is new, in every
  // replica's view at once: the primary key decides.
  absl::StatusOr<PostgresRows> inserted = db_->Exec(
      absl::StrCat("INSERT INTO borrows (", kColumns,
                   ") VALUES ($1, $2, $3::bigint, $4, $5, $6::bigint, "
                   "$7::bigint, 'PENDING', false, false, NULL, NULL, NULL, "
                   "$8, NULL) ON CONFLICT (request_id) DO NOTHING"),
      {intent.request_id, intent.caller, absl::StrCat(intent.group_id),
       intent.asset, intent.amount, Ms(intent.created), now,
       std::string(OperationKindName(intent.kind))});
  if (!inserted.ok()) return rollback(JournalError(inserted.status(), "write"));
  if (inserted->affected() == 0) {
    absl::StatusOr<std::optional<JournalRecord>> existing =
        GetLocked(intent.request_id);
    if (!existing.ok()) return rollback(existing.status());
    if (!existing->has_value()) {
      return rollback(absl::UnavailableError(
          "journal: a conflicting request_id could not be read"));
    }
    const JournalRecord& old = **existing;
    const bool retry = old.state == Outcome::kRejected && old.retryable &&
                       !old.reconciled && old.SameIntent(intent);
    if (!retry) {
      if (absl::Status c = EndWrite(); !c.ok()) return rollback(c);
      return existing;
    }
    // A new attempt starts a new window for reconciliation. The state in
    // the condition keeps a second replica's retry from passing too.
    absl::StatusOr<PostgresRows> reopened = db_->Exec(
        "UPDATE borrows SET state = 'PENDING', retryable = false, error = "
        "NULL, created_ms = $1::bigint, updated_ms = $2::bigint WHERE "
        "request_id = $3 AND state = 'REJECTED' AND retryable",
        {Ms(intent.created), now, intent.request_id});
    if (!reopened.ok()) {
      return rollback(JournalError(reopened.status(), "write"));
    }
    if (reopened->affected() != 1) {
      // Not the record just read (only a second writer could have changed
      // it): never a new intent on a guess.
      return rollback(absl::UnavailableError(
          "journal: a retryable intent changed while it was reopened"));
    }
  }
  if (absl::Status s = EndWrite(); !s.ok()) return rollback(s);
  unsettled_.MarkUnsettled(intent.request_id, "");
  return std::optional<JournalRecord>();
}

absl::Status PostgresBorrowJournal::MarkAttempts(const std::string& request_id,
                                                 AttemptState from,
                                                 AttemptState to) {
  absl::StatusOr<PostgresRows> marked = db_->Exec(
      "UPDATE attempts SET state = $1 WHERE request_id = $2 AND state = $3",
      {std::string(AttemptStateName(to)), request_id,
       std::string(AttemptStateName(from))});
  return marked.ok() ? absl::OkStatus()
                     : JournalError(marked.status(), "write");
}

// Takes `transaction_id` back from a record reconciliation gave it to (see
// SqliteBorrowJournal::ReopenHolderOf).
absl::StatusOr<std::string> PostgresBorrowJournal::ReopenHolderOf(
    const std::string& transaction_id, const std::string& request_id) {
  absl::StatusOr<PostgresRows> found = db_->Exec(
      "SELECT request_id, reconciled FROM borrows WHERE transaction_id = $1 "
      "AND transaction_id <> '' AND request_id <> $2 FOR UPDATE",
      {transaction_id, request_id});
  if (!found.ok()) return JournalError(found.status(), "read");
  if (found->size() == 0) return std::string();
  const std::string holder = found->At(0, 0).value_or("");
  if (found->At(0, 1) != "t") {
    return absl::FailedPreconditionError(
        absl::StrCat("transaction ", transaction_id,
                     " is already the direct answer to ", holder));
  }
  absl::StatusOr<PostgresRows> reopened = db_->Exec(
      "UPDATE borrows SET state = 'UNKNOWN', reconciled = false, "
      "transaction_id = NULL, note = $1, updated_ms = $2::bigint WHERE "
      "request_id = $3",
      {absl::StrCat("reopened: reconciliation had attributed transaction ",
                    transaction_id, " to it, but Binance's direct answer to ",
                    request_id, " named that transaction"),
       absl::StrCat(NowMs()), holder});
  if (!reopened.ok()) return JournalError(reopened.status(), "write");
  if (absl::Status s =
          MarkAttempts(holder, AttemptState::kExecuted, AttemptState::kSent);
      !s.ok()) {
    return s;
  }
  return holder;
}

absl::StatusOr<OutcomeWritten> PostgresBorrowJournal::RecordOutcome(
    const std::string& request_id, const OutcomeToRecord& outcome) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  auto rollback = [&](absl::Status status) {
    UndoWrite();
    return status;
  };
  OutcomeWritten written;
  if (outcome.state == Outcome::kSucceeded && !outcome.reconciled &&
      !outcome.transaction_id.empty()) {
    absl::StatusOr<std::string> reopened =
        ReopenHolderOf(outcome.transaction_id, request_id);
    if (!reopened.ok()) return rollback(reopened.status());
    written.reopened_request_id = *reopened;
  }
  // A settled outcome is never overwritten (e.g. reconciliation racing the
  // call, on this replica or another).
  absl::StatusOr<PostgresRows> s = db_->Exec(
      "UPDATE borrows SET state = $1, reconciled = $2::boolean, retryable = "
      "$3::boolean, transaction_id = $4, error = $5::bytea, updated_ms = "
      "$6::bigint, note = NULL, result_amount = $7 WHERE request_id = $8 AND "
      "(state = 'PENDING' OR (state = 'UNKNOWN' AND $2::boolean))",
      {std::string(OutcomeName(outcome.state)), Bool(outcome.reconciled),
       Bool(outcome.retryable), outcome.transaction_id,
       ByteaParam(outcome.error), absl::StrCat(NowMs()), outcome.result_amount,
       request_id});
  if (!s.ok()) return rollback(JournalError(s.status(), "write"));
  if (s->affected() != 1) {
    return rollback(absl::FailedPreconditionError(
        absl::StrCat("journal has no unsettled intent ", request_id)));
  }
  absl::Status marked = absl::OkStatus();
  if (outcome.state == Outcome::kSucceeded) {
    marked =
        MarkAttempts(request_id, AttemptState::kSent, AttemptState::kExecuted);
  } else if (outcome.state == Outcome::kRejected && !outcome.reconciled) {
    marked = MarkAttempts(request_id, AttemptState::kSent,
                          AttemptState::kNotExecuted);
  }
  if (!marked.ok()) return rollback(marked);
  if (absl::Status c = EndWrite(); !c.ok()) return rollback(c);
  if (outcome.state == Outcome::kSucceeded ||
      outcome.state == Outcome::kRejected) {
    unsettled_.MarkSettled(request_id);
  } else {
    unsettled_.MarkUnsettled(request_id, "");  // The note is cleared.
  }
  if (!written.reopened_request_id.empty()) {
    unsettled_.MarkUnsettled(written.reopened_request_id, "");
  }
  return written;
}

absl::Status PostgresBorrowJournal::BeginAttempt(const AttemptRecord& a) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  auto rollback = [&](absl::Status status) {
    UndoWrite();
    return status;
  };
  if (absl::Status s = MarkAttempts(a.request_id, AttemptState::kSent,
                                    AttemptState::kNotExecuted);
      !s.ok()) {
    return rollback(s);
  }
  absl::StatusOr<PostgresRows> inserted = db_->Exec(
      absl::StrCat("INSERT INTO attempts (", kAttemptColumns,
                   ") SELECT $1, COALESCE(MAX(seq), 0) + 1, $2::bigint, $3, "
                   "$4, $5::bigint, $6::bigint, 'SENT', $7 FROM attempts "
                   "WHERE request_id = $1"),
      {a.request_id, absl::StrCat(a.group_id), a.asset, a.amount,
       absl::StrCat(a.signed_ms), absl::StrCat(a.recv_window_ms),
       std::string(OperationKindName(a.kind))});
  if (!inserted.ok()) return rollback(JournalError(inserted.status(), "write"));
  if (absl::Status c = EndWrite(); !c.ok()) return rollback(c);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AttemptRecord>> PostgresBorrowJournal::Attempts(
    const std::string& request_id) {
  JournalGroupLock::Scoped lock(&mu_);
  return ReadAttempts(absl::StrCat("SELECT ", kAttemptColumns,
                                   " FROM attempts WHERE request_id = $1 "
                                   "ORDER BY seq"),
                      {request_id});
}

absl::StatusOr<std::vector<AttemptRecord>> PostgresBorrowJournal::OpenAttempts(
    int64_t group_id, const std::string& asset) {
  JournalGroupLock::Scoped lock(&mu_);
  return ReadAttempts(absl::StrCat("SELECT ", kAttemptColumns,
                                   " FROM attempts WHERE group_id = $1::bigint "
                                   "AND state = 'SENT' AND asset = $2 "
                                   "ORDER BY signed_ms"),
                      {absl::StrCat(group_id), asset});
}

absl::StatusOr<std::optional<int64_t>>
PostgresBorrowJournal::LatestOpenWindowEnd(
    int64_t group_id, const std::string& except_request_id) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> rows = db_->Query(
      "SELECT MAX(signed_ms + recv_window_ms) FROM attempts WHERE group_id = "
      "$1::bigint AND state = 'SENT' AND request_id <> $2",
      {absl::StrCat(group_id), except_request_id});
  if (!rows.ok()) return JournalError(rows.status(), "read");
  std::optional<std::string> latest = rows->At(0, 0);
  if (!latest.has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>(ToInt(latest));
}

absl::Status PostgresBorrowJournal::SetNote(const std::string& request_id,
                                            const std::string& note) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  absl::StatusOr<PostgresRows> s = db_->Exec(
      "UPDATE borrows SET note = $1 WHERE request_id = $2 AND state IN "
      "('PENDING', 'UNKNOWN') AND note IS DISTINCT FROM $1",
      {note, request_id});
  if (!s.ok()) {
    UndoWrite();
    return JournalError(s.status(), "write");
  }
  if (absl::Status c = EndWrite(); !c.ok()) {
    UndoWrite();
    return c;
  }
  if (s->affected() == 1) unsettled_.MarkUnsettled(request_id, note);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JournalRecord>> PostgresBorrowJournal::List(
    const RecordQuery& q) {
  // Each filter adds a condition with its own parameter, never text.
  std::vector<std::string> where;
  std::vector<std::string> params;
  auto add = [&](absl::string_view condition, std::string value) {
    params.push_back(std::move(value));
    where.push_back(absl::StrReplaceAll(
        condition, {{"$?", absl::StrCat("$", params.size())}}));
  };
  if (q.group_id) add("group_id = $?::bigint", absl::StrCat(*q.group_id));
  if (q.asset) add("asset = $?", *q.asset);
  if (q.state) add("state = $?", std::string(OutcomeName(*q.state)));
  if (q.caller) add("caller = $?", *q.caller);
  if (q.created_from) add("created_ms >= $?::bigint", Ms(*q.created_from));
  if (q.created_before) add("created_ms < $?::bigint", Ms(*q.created_before));
  if (q.after) {
    params.push_back(Ms(q.after->created));
    params.push_back(q.after->request_id);
    where.push_back(absl::StrCat("(created_ms, request_id) < ($",
                                 params.size() - 1, "::bigint, $",
                                 params.size(), ")"));
  }
  params.push_back(absl::StrCat(q.limit));
  JournalGroupLock::Scoped lock(&mu_);
  return ReadRecords(
      absl::StrCat("SELECT ", kColumns, " FROM borrows",
                   where.empty() ? "" : " WHERE ",
                   absl::StrJoin(where, " AND "),
                   " ORDER BY created_ms DESC, request_id DESC LIMIT $",
                   params.size(), "::bigint"),
      params);
}

absl::StatusOr<std::vector<JournalRecord>> PostgresBorrowJournal::Unsettled() {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<std::vector<JournalRecord>> unsettled = UnsettledLocked();
  // Another replica's writes show here first: the index follows storage.
  if (unsettled.ok() && !mu_.InGroup()) unsettled_.Reset(*unsettled);
  return unsettled;
}

absl::StatusOr<std::vector<JournalRecord>>
PostgresBorrowJournal::UnsettledLocked() {
  return ReadRecords(absl::StrCat("SELECT ", kColumns,
                                  " FROM borrows WHERE state IN ('PENDING', "
                                  "'UNKNOWN') ORDER BY created_ms"),
                     {});
}

UnsettledCount PostgresBorrowJournal::CountUnsettled(
    const std::function<bool(const std::string&)>& skip) const {
  return unsettled_.Count(skip);
}

absl::StatusOr<std::vector<CallerBorrow>>
PostgresBorrowJournal::CallerBorrowsSince(const std::string& caller,
                                          const std::string& asset,
                                          absl::Time since) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> rows = db_->Query(
      "SELECT created_ms, amount FROM borrows WHERE caller = $1 AND asset = "
      "$2 AND created_ms >= $3::bigint AND state <> 'REJECTED' AND kind = "
      "'BORROW'",
      {caller, asset, Ms(since)});
  if (!rows.ok()) return JournalError(rows.status(), "read");
  std::vector<CallerBorrow> out;
  out.reserve(rows->size());
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back({absl::FromUnixMillis(ToInt(rows->At(i, 0))),
                   rows->At(i, 1).value_or("")});
  }
  return out;
}

absl::StatusOr<bool> PostgresBorrowJournal::TransactionClaimed(
    const std::string& transaction_id) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> rows = db_->Query(
      "SELECT 1 FROM borrows WHERE transaction_id = $1 AND transaction_id <> "
      "'' LIMIT 1",
      {transaction_id});
  if (!rows.ok()) return JournalError(rows.status(), "read");
  return rows->size() == 1;
}

absl::StatusOr<int> PostgresBorrowJournal::PurgeSettledBefore(
    absl::Time cutoff) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  absl::StatusOr<PostgresRows> purged = db_->Exec(
      "DELETE FROM borrows WHERE state IN ('SUCCEEDED', 'REJECTED') AND "
      "updated_ms < $1::bigint",
      {Ms(cutoff)});
  absl::Status deleted = purged.status();
  if (deleted.ok()) {
    deleted = db_->Exec(
                     "DELETE FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM "
                     "borrows b WHERE b.request_id = a.request_id)")
                  .status();
  }
  if (!deleted.ok()) {
    UndoWrite();
    return JournalError(deleted, "write");
  }
  if (absl::Status c = EndWrite(); !c.ok()) {
    UndoWrite();
    return c;
  }
  return static_cast<int>(purged->affected());
}

}  // namespace loan_gateway
