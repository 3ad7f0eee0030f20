#include "journal/postgres_borrow_journal.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "audit/audit_line.h"
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
INSERT INTO meta (name, value) VALUES ('schema_version', '3')
  ON CONFLICT (name) DO NOTHING;
-- Version 3: gateways write side by side. A PENDING record's owner is the
-- replica id of the gateway working on it; a risk unit's turn is a row.
ALTER TABLE borrows ADD COLUMN IF NOT EXISTS owner INTEGER;
CREATE INDEX IF NOT EXISTS borrows_owner ON borrows(owner)
  WHERE state = 'PENDING';
CREATE TABLE IF NOT EXISTS risk_unit_turns (
  group_id   BIGINT PRIMARY KEY,
  owner      INTEGER NOT NULL,
  request_id TEXT COLLATE "C" NOT NULL,
  since_ms   BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_replicas (
  owner      INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  started_ms BIGINT NOT NULL
);
UPDATE meta SET value = '3' WHERE name = 'schema_version' AND value = '2';
)sql";

// The audit trail, written in the journal's transactions, one chain per
// gateway process: the table gateways before 2026-12-04 made on a session of
// their own, the same rows. Made at every start, as they did, and without a
// schema version of its own: a version older gateways do not know would make
// them run their whole schema (its table locks) at every start.
constexpr char kAuditSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  chain  TEXT COLLATE "C" NOT NULL,
  seq    BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  line   TEXT NOT NULL,
  PRIMARY KEY (chain, seq)
);
)sql";

// What kSchema makes (meta.schema_version).
constexpr char kSchemaVersion[] = "3";

// Advisory lock keys. The lease on reconciliation and the purge: a session
// lock one gateway at a time holds.
constexpr char kLeaseLock[] = "7308613712466637312";
// The space of replica locks (two-key form: this, then the replica id):
// a gateway holds its own for as long as its session lives.
constexpr char kReplicaSpace[] = "1819174775";
// The space of caps locks (two-key form: this, then hashtext(caller/asset)).
constexpr char kCapsSpace[] = "1819174776";

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
  r.in_flight_elsewhere = text(15) == "t";
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

// A replica id no other live gateway is likely to hold (the lock decides).
int32_t NewReplicaId() {
  uint32_t bits = 0;
  if (getrandom(&bits, sizeof(bits), 0) != sizeof(bits)) {
    bits = static_cast<uint32_t>(getpid()) ^ static_cast<uint32_t>(NowMs());
  }
  return static_cast<int32_t>(bits % 2147483646u) + 1;  // 1 .. 2^31-1.
}

// SQL: whether the gateway with replica id `owner` (an SQL expression) is
// alive, i.e. some session of this database holds its replica lock.
// PostgreSQL frees the lock when the session ends (a crash, a kill, a lost
// network once keepalives give up), so "dead" needs no clock and no guess.
std::string OwnerAlive(absl::string_view owner) {
  return absl::StrCat(
      "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND "
      "l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname "
      "= current_database()) AND l.classid = ",
      kReplicaSpace, "::oid AND l.objsubid = 2 AND l.objid = (", owner,
      ")::oid)");
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
                                  return j->TryTakeReplicaLock(session);
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
  LogLine("info", "journal_replica")
      .Int("replica_id", journal->replica_id())
      .Emit();
  return journal;
}

PostgresBorrowJournal::PostgresBorrowJournal() {
  replica_id_.store(NewReplicaId());
}

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
  // The DDL takes table locks that queue every other replica's statements
  // behind running transactions: only when the schema is missing or old.
  absl::StatusOr<PostgresRows> version =
      exists->At(0, 0) == "t"
          ? db_->Exec("SELECT value FROM meta WHERE name = 'schema_version'")
          : absl::StatusOr<PostgresRows>(absl::NotFoundError("no tables"));
  const bool current = version.ok() && version->size() == 1 &&
                       version->At(0, 0) == kSchemaVersion;
  if (!current) {
    if (absl::Status made = db_->ExecSchema(kSchema); !made.ok()) {
      return JournalError(made, "schema");
    }
  }
  if (absl::Status made = db_->ExecSchema(kAuditSchema); !made.ok()) {
    return JournalError(made, "schema");
  }
  if (!writer_.load()) {
    return absl::UnavailableError(
        "journal: no free replica id (every one tried is locked by another "
        "session)");
  }
  // A real write now, so that a database that cannot take one stops the
  // start instead of refusing every borrow later.
  if (absl::Status s = WriteMeta("last_opened_ms", absl::StrCat(NowMs()));
      !s.ok()) {
    return s;
  }
  return RegisterReplica(*db_);
}

// Names this gateway in journal_replicas (what a busy risk unit's refusal
// and an operator read), and forgets the rows of gateways no longer alive.
absl::Status PostgresBorrowJournal::RegisterReplica(
    PostgresConnection& session) {
  absl::StatusOr<PostgresRows> forgot = session.Exec(absl::StrCat(
      "DELETE FROM journal_replicas r WHERE NOT ", OwnerAlive("r.owner")));
  if (!forgot.ok()) return JournalError(forgot.status(), "write at open");
  absl::StatusOr<PostgresRows> named = session.Exec(
      "INSERT INTO journal_replicas (owner, name, started_ms) VALUES "
      "($1::integer, $2, $3::bigint) ON CONFLICT (owner) DO UPDATE SET name = "
      "EXCLUDED.name, started_ms = EXCLUDED.started_ms",
      {absl::StrCat(replica_id()), HolderName(), absl::StrCat(NowMs())});
  return named.ok() ? absl::OkStatus()
                    : JournalError(named.status(), "write at open");
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

// On every new session: this gateway's replica lock, which tells the others
// it is alive. Before Open finishes a taken id is swapped for another; after,
// the id is in its records and only the same one will do: if the database
// still keeps the old session (a partition it has not noticed yet), this
// gateway writes nothing until that session ends (CheckWriter retries).
absl::Status PostgresBorrowJournal::TryTakeReplicaLock(
    PostgresConnection& session) {
  lease_held_ = false;  // Session locks do not outlive their session.
  const bool was = writer_.load();
  for (int tries = 0;; ++tries) {
    absl::StatusOr<PostgresRows> took =
        session.Exec("SELECT pg_try_advisory_lock($1::integer, $2::integer)",
                     {kReplicaSpace, absl::StrCat(replica_id())});
    if (!took.ok()) return JournalError(took.status(), "lock");
    if (took->At(0, 0) == "t") break;
    if (opened_.load() || tries == 8) {
      writer_.store(false);
      if (was) {
        LogLine("error", "journal_replica_lock_held")
            .Int("replica_id", replica_id())
            .Str("effect",
                 "this gateway's database session was lost and the database "
                 "still holds the old one: nothing is written until it ends")
            .Emit();
      }
      return absl::OkStatus();  // Not broken: CheckWriter tries again.
    }
    replica_id_.store(NewReplicaId());
  }
  writer_.store(true);
  if (!opened_.load()) return absl::OkStatus();
  if (!was) {
    LogLine("info", "journal_replica_lock_retaken")
        .Int("replica_id", replica_id())
        .Emit();
  }
  // Its row may have been forgotten while it looked dead.
  return RegisterReplica(session);
}

absl::Status PostgresBorrowJournal::CheckWriter() {
  JournalGroupLock::Scoped lock(&mu_);
  // A read notices a lost session (and reconnecting takes the lock again).
  if (absl::StatusOr<PostgresRows> alive = db_->Query("SELECT 1");
      !alive.ok()) {
    return JournalError(alive.status(), "check");
  }
  if (!writer_.load()) {
    if (absl::Status s = TryTakeReplicaLock(*db_); !s.ok()) return s;
    if (!writer_.load()) return NotAliveError();
  }
  return absl::OkStatus();
}

absl::Status PostgresBorrowJournal::NotAliveError() const {
  return absl::UnavailableError(absl::StrCat(
      "journal: this gateway's database session was lost and the database "
      "still holds the old one (replica id ",
      replica_id(), "); it writes again once PostgreSQL ends that session"));
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
  savepoint_open_ = false;
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
  // Checked inside the transaction: its session holds the replica lock
  // (or not) until it ends, and a session lost meanwhile ends it.
  if (!writer_.load()) {
    if (!mu_.InGroup()) db_->Rollback();
    return NotAliveError();
  }
  if (!mu_.InGroup()) return absl::OkStatus();
  // The last write's savepoint is released here, in the same round trip.
  absl::Status saved = db_->ExecScript(
      savepoint_open_
          ? "RELEASE SAVEPOINT journal_write; SAVEPOINT journal_write;"
          : "SAVEPOINT journal_write;");
  savepoint_open_ = saved.ok();
  if (!saved.ok()) group_failed_ = true;
  return saved.ok() ? absl::OkStatus() : JournalError(saved, "write");
}

absl::Status PostgresBorrowJournal::EndWrite() {
  if (!mu_.InGroup()) {
    absl::Status committed = db_->Commit();
    return committed.ok() ? committed : JournalError(committed, "commit");
  }
  // Its savepoint stays until the next write's BeginWrite or the group's
  // COMMIT releases it (a round trip saved; nothing undoes it meanwhile).
  return absl::OkStatus();
}

void PostgresBorrowJournal::UndoWrite() {
  if (!mu_.InGroup()) {
    db_->Rollback();
    return;
  }
  savepoint_open_ = false;
  if (!db_->connected() ||
      !db_->ExecScript("ROLLBACK TO SAVEPOINT journal_write; RELEASE SAVEPOINT "
                       "journal_write;")
           .ok()) {
    group_failed_ = true;
  }
}

absl::StatusOr<PostgresRows> PostgresBorrowJournal::WriteStatement(
    const std::string& sql, const std::vector<std::string>& params) {
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  absl::StatusOr<PostgresRows> wrote = db_->Exec(sql, params);
  if (!wrote.ok()) {
    UndoWrite();
    return JournalError(wrote.status(), "write");
  }
  if (absl::Status c = EndWrite(); !c.ok()) {
    UndoWrite();
    return c;
  }
  return wrote;
}

std::string PostgresBorrowJournal::SelectRecords() const {
  return absl::StrCat(
      "SELECT ", kColumns,
      ", CASE WHEN state = 'PENDING' AND owner IS NOT NULL AND owner <> ",
      replica_id(), " THEN ", OwnerAlive("owner"), " ELSE false END");
}

absl::StatusOr<std::optional<JournalRecord>> PostgresBorrowJournal::GetLocked(
    const std::string& request_id) {
  absl::StatusOr<std::vector<JournalRecord>> found = ReadRecords(
      absl::StrCat(SelectRecords(), " FROM borrows WHERE request_id = $1"),
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
                   ", owner) VALUES ($1, $2, $3::bigint, $4, $5, $6::bigint, "
                   "$7::bigint, 'PENDING', false, false, NULL, NULL, NULL, "
                   "$8, NULL, $9::integer) ON CONFLICT (request_id) DO "
                   "NOTHING"),
      {intent.request_id, intent.caller, absl::StrCat(intent.group_id),
       intent.asset, intent.amount, Ms(intent.created), now,
       std::string(OperationKindName(intent.kind)),
       absl::StrCat(replica_id())});
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
    if (!old.AttemptedAgainBy(intent)) {
      if (absl::Status c = EndWrite(); !c.ok()) return rollback(c);
      return existing;
    }
    // A new attempt starts a new window for reconciliation. The state in
    // the condition keeps a second replica's retry from passing too.
    absl::StatusOr<PostgresRows> reopened = db_->Exec(
        "UPDATE borrows SET state = 'PENDING', retryable = false, error = "
        "NULL, created_ms = $1::bigint, updated_ms = $2::bigint, owner = "
        "$4::integer WHERE request_id = $3 AND state = 'REJECTED' AND "
        "retryable",
        {Ms(intent.created), now, intent.request_id,
         absl::StrCat(replica_id())});
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
  // call, on this replica or another). Its attempts follow it, and the risk
  // unit's turn goes with it: one statement, one round trip.
  std::string mark;  // UNKNOWN and a reconciled REJECTED leave them open.
  if (outcome.state == Outcome::kSucceeded) {
    mark = std::string(AttemptStateName(AttemptState::kExecuted));
  } else if (outcome.state == Outcome::kRejected && !outcome.reconciled) {
    mark = std::string(AttemptStateName(AttemptState::kNotExecuted));
  }
  absl::StatusOr<PostgresRows> s = db_->Exec(
      "WITH settled AS (UPDATE borrows SET state = $1, reconciled = "
      "$2::boolean, retryable = $3::boolean, transaction_id = $4, error = "
      "$5::bytea, updated_ms = $6::bigint, note = NULL, result_amount = $7 "
      "WHERE request_id = $8 AND (state = 'PENDING' OR (state = 'UNKNOWN' AND "
      "$2::boolean)) RETURNING request_id), marked AS (UPDATE attempts SET "
      "state = $9 WHERE $9 <> '' AND state = 'SENT' AND request_id IN (SELECT "
      "request_id FROM settled)), turn AS (DELETE FROM risk_unit_turns WHERE "
      "request_id IN (SELECT request_id FROM settled)) SELECT COUNT(*) FROM "
      "settled",
      {std::string(OutcomeName(outcome.state)), Bool(outcome.reconciled),
       Bool(outcome.retryable), outcome.transaction_id,
       ByteaParam(outcome.error), absl::StrCat(NowMs()), outcome.result_amount,
       request_id, mark});
  if (!s.ok()) return rollback(JournalError(s.status(), "write"));
  if (s->At(0, 0) != "1") {
    return rollback(absl::FailedPreconditionError(
        absl::StrCat("journal has no unsettled intent ", request_id)));
  }
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

// The turn row is taken when it is free, this gateway's own (its queue gives
// a risk unit to one call at a time), or its taker is dead (a taker alive
// gives it back with the outcome, or with the record: ReleaseAbandoned).
// Held is read from the lock table, not from other rows: a row lock's wait
// ends with the statement's old snapshot, which would not see what the
// holder's transaction wrote beside the turn. The row lock is held to the
// end of the transaction: a second gateway's try waits for that commit,
// then sees the turn taken.
absl::Status PostgresBorrowJournal::TakeRiskUnitTurn(const AttemptRecord& a) {
  absl::StatusOr<PostgresRows> took = db_->Exec(
      absl::StrCat(
          "INSERT INTO risk_unit_turns (group_id, owner, request_id, since_ms) "
          "VALUES ($1::bigint, $2::integer, $3, $4::bigint) ON CONFLICT "
          "(group_id) DO UPDATE SET owner = EXCLUDED.owner, request_id = "
          "EXCLUDED.request_id, since_ms = EXCLUDED.since_ms WHERE "
          "risk_unit_turns.owner = EXCLUDED.owner OR NOT ",
          OwnerAlive("risk_unit_turns.owner"), " RETURNING 1"),
      {absl::StrCat(a.group_id), absl::StrCat(replica_id()), a.request_id,
       absl::StrCat(NowMs())});
  if (took.ok() && took->size() == 1) return absl::OkStatus();
  if (!took.ok() && !absl::IsAborted(took.status())) {
    return JournalError(took.status(), "write");
  }
  // Held (or a deadlock / lock wait with another gateway's group): later.
  std::string holder = "another gateway";
  if (took.ok()) {
    absl::StatusOr<PostgresRows> who = db_->Exec(
        "SELECT r.name FROM risk_unit_turns t JOIN journal_replicas r ON "
        "r.owner = t.owner WHERE t.group_id = $1::bigint",
        {absl::StrCat(a.group_id)});
    if (who.ok() && who->size() == 1) {
      holder = absl::StrCat("the gateway ", who->At(0, 0).value_or("?"));
    }
  }
  return RiskUnitBusyElsewhere(absl::StrCat(
      "risk unit ", a.group_id, " has an operation at Binance through ", holder,
      took.ok() ? "" : absl::StrCat(" (", took.status().message(), ")")));
}

absl::Status PostgresBorrowJournal::BeginAttempt(const AttemptRecord& a) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  auto rollback = [&](absl::Status status) {
    UndoWrite();
    return status;
  };
  // Still this gateway's PENDING record? (A database restart can make it
  // look dead for a moment, and reconciliation elsewhere settle it.)
  absl::StatusOr<PostgresRows> mine = db_->Exec(
      "SELECT 1 FROM borrows WHERE request_id = $1 AND state = 'PENDING' AND "
      "owner = $2::integer FOR UPDATE",
      {a.request_id, absl::StrCat(replica_id())});
  if (!mine.ok() && absl::IsAborted(mine.status())) {
    // Its row is locked past lock_timeout (reconciliation elsewhere): later.
    return rollback(RiskUnitBusyElsewhere(
        absl::StrCat(a.request_id, "'s record is locked by another gateway")));
  }
  if (!mine.ok()) return rollback(JournalError(mine.status(), "write"));
  if (mine->size() != 1) {
    return rollback(absl::FailedPreconditionError(absl::StrCat(
        "journal: ", a.request_id,
        " is no longer this gateway's unsettled intent (settled by "
        "reconciliation meanwhile); nothing is sent")));
  }
  if (absl::Status s = TakeRiskUnitTurn(a); !s.ok()) return rollback(s);
  if (a.others_end_by_ms > 0) {
    // Seen now, in a statement after the turn's: the last holder's outcome.
    absl::StatusOr<PostgresRows> open = db_->Exec(
        "SELECT 1 FROM attempts WHERE group_id = $1::bigint AND state = "
        "'SENT' AND request_id <> $2 AND signed_ms + recv_window_ms > "
        "$3::bigint LIMIT 1",
        {absl::StrCat(a.group_id), a.request_id,
         absl::StrCat(a.others_end_by_ms)});
    if (!open.ok()) return rollback(JournalError(open.status(), "write"));
    if (open->size() == 1) {
      return rollback(RiskUnitBusyElsewhere(absl::StrCat(
          "risk unit ", a.group_id,
          " has an attempt of another gateway whose outcome is open and "
          "whose execution window has not passed")));
    }
  }
  // Earlier attempts are marked not executed in the same statement (both
  // parts see one snapshot; the marking changes no seq).
  absl::StatusOr<PostgresRows> inserted = db_->Exec(
      absl::StrCat("WITH earlier AS (UPDATE attempts SET state = "
                   "'NOT_EXECUTED' WHERE request_id = $1 AND state = 'SENT') "
                   "INSERT INTO attempts (",
                   kAttemptColumns,
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
  // An attempt whose call holds the turn at another live gateway is in
  // flight: BeginAttempt waits for its outcome instead of its window.
  absl::StatusOr<PostgresRows> rows = db_->Query(
      absl::StrCat("SELECT MAX(signed_ms + recv_window_ms) FROM attempts a "
                   "WHERE group_id = $1::bigint AND state = 'SENT' AND "
                   "request_id <> $2 AND NOT EXISTS (SELECT 1 FROM "
                   "risk_unit_turns t WHERE t.request_id = a.request_id AND "
                   "t.owner <> $3::integer AND ",
                   OwnerAlive("t.owner"), ")"),
      {absl::StrCat(group_id), except_request_id, absl::StrCat(replica_id())});
  if (!rows.ok()) return JournalError(rows.status(), "read");
  std::optional<std::string> latest = rows->At(0, 0);
  if (!latest.has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>(ToInt(latest));
}

absl::Status PostgresBorrowJournal::SetNote(const std::string& request_id,
                                            const std::string& note) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> s = WriteStatement(
      "UPDATE borrows SET note = $1 WHERE request_id = $2 AND state IN "
      "('PENDING', 'UNKNOWN') AND note IS DISTINCT FROM $1",
      {note, request_id});
  if (!s.ok()) return s.status();
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
      absl::StrCat(SelectRecords(), " FROM borrows",
                   where.empty() ? "" : " WHERE ",
                   absl::StrJoin(where, " AND "),
                   " ORDER BY created_ms DESC, request_id DESC LIMIT $",
                   params.size(), "::bigint"),
      params);
}

absl::StatusOr<std::vector<JournalRecord>> PostgresBorrowJournal::Unsettled() {
  JournalGroupLock::Scoped lock(&mu_);
  if (!mu_.InGroup()) {
    if (absl::Status claimed = ClaimDeadOwnersRecords(); !claimed.ok()) {
      return claimed;
    }
  }
  absl::StatusOr<std::vector<JournalRecord>> unsettled = UnsettledLocked();
  // Another replica's writes show here first: the index follows storage.
  if (unsettled.ok() && !mu_.InGroup()) unsettled_.Reset(*unsettled);
  return unsettled;
}

// A PENDING record whose owner looks dead is taken from it, committed, before
// reconciliation reads its attempts: an owner that only lost its session for
// a moment (a database restart) then finds it no longer its own and signs
// nothing more for it (BeginAttempt), so "never signed" cannot turn false
// behind reconciliation's back. Its direct outcome may still be written.
absl::Status PostgresBorrowJournal::ClaimDeadOwnersRecords() {
  return WriteStatement(
             absl::StrCat(
                 "UPDATE borrows SET owner = NULL WHERE state = 'PENDING' AND "
                 "owner IS NOT NULL AND owner <> $1::integer AND NOT ",
                 OwnerAlive("owner")),
             {absl::StrCat(replica_id())})
      .status();
}

absl::StatusOr<std::vector<JournalRecord>>
PostgresBorrowJournal::UnsettledLocked() {
  absl::StatusOr<std::vector<JournalRecord>> unsettled =
      ReadRecords(absl::StrCat(SelectRecords(),
                               " FROM borrows WHERE state IN ('PENDING', "
                               "'UNKNOWN') ORDER BY created_ms, request_id"),
                  {});
  if (!unsettled.ok()) return unsettled;
  // Another live gateway's calls in flight are its own to settle.
  std::erase_if(*unsettled,
                [](const JournalRecord& r) { return r.in_flight_elsewhere; });
  return unsettled;
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

// A statement for up to kAuditRowsPerInsert lines (three parameters each,
// well under libpq's 65535), in the write's one savepoint.
absl::Status PostgresBorrowJournal::AppendAuditLines(
    const std::string& chain, const std::vector<ChainedAuditLine>& lines) {
  constexpr size_t kAuditRowsPerInsert = 1000;
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  for (size_t first = 0; first < lines.size(); first += kAuditRowsPerInsert) {
    std::string sql =
        "INSERT INTO audit_log (chain, seq, sha256, line) VALUES ";
    std::vector<std::string> params = {chain};
    const size_t end = std::min(lines.size(), first + kAuditRowsPerInsert);
    for (size_t i = first; i < end; ++i) {
      const size_t n = params.size();
      absl::StrAppend(&sql, i == first ? "" : ", ", "($1, $", n + 1,
                      "::bigint, $", n + 2, ", $", n + 3, ")");
      params.push_back(absl::StrCat(lines[i].seq));
      params.push_back(lines[i].sha256);
      params.push_back(lines[i].text);
    }
    // The primary key refuses a second writer of one chain (a fork).
    if (absl::StatusOr<PostgresRows> wrote = db_->Exec(sql, params);
        !wrote.ok()) {
      UndoWrite();
      return JournalError(wrote.status(), "audit write");
    }
  }
  if (absl::Status c = EndWrite(); !c.ok()) {
    UndoWrite();
    return c;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PostgresBorrowJournal::AuditLines(
    const std::string& chain) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> rows = db_->Query(
      "SELECT line FROM audit_log WHERE chain = $1 ORDER BY seq", {chain});
  if (!rows.ok()) return JournalError(rows.status(), "audit read");
  std::string text;
  for (int i = 0; i < rows->size(); ++i) text += rows->At(i, 0).value_or("");
  return text;
}

absl::StatusOr<AuditHead> PostgresBorrowJournal::LastAuditLine(
    const std::string& chain) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> last = db_->Query(
      "SELECT seq, sha256 FROM audit_log WHERE chain = $1 ORDER BY seq DESC "
      "LIMIT 1",
      {chain});
  if (!last.ok()) return JournalError(last.status(), "audit read");
  if (last->size() == 0) {
    return AuditHead{.sha256 = std::string(kAuditGenesisSha256)};
  }
  return AuditHead{.seq = static_cast<uint64_t>(
                       std::atoll(last->At(0, 0).value_or("0").c_str())),
                   .sha256 = last->At(0, 1).value_or("")};
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

absl::Status PostgresBorrowJournal::LockCallerCaps(const std::string& caller,
                                                   const std::string& asset) {
  JournalGroupLock::Scoped lock(&mu_);
  if (!mu_.InGroup()) {
    // Held to the end of a transaction that must also hold the intent.
    return absl::UnavailableError(
        "journal: caps are checked only inside a group's transaction");
  }
  return WriteStatement(absl::StrCat("SELECT pg_advisory_xact_lock(",
                                     kCapsSpace, "::integer, hashtext($1))"),
                        {absl::StrCat(caller, "\n", asset)})
      .status();
}

absl::StatusOr<bool> PostgresBorrowJournal::TryLeadReconciliation() {
  JournalGroupLock::Scoped lock(&mu_);
  if (lease_held_) return true;
  absl::StatusOr<PostgresRows> took =
      db_->Query("SELECT pg_try_advisory_lock($1::bigint)", {kLeaseLock});
  if (!took.ok()) return JournalError(took.status(), "lease");
  lease_held_ = took->At(0, 0) == "t";
  if (lease_held_) {
    LogLine("info", "reconcile_lease_taken")
        .Int("replica_id", replica_id())
        .Emit();
  }
  return lease_held_;
}

absl::Status PostgresBorrowJournal::ReleaseAbandoned(
    const std::function<bool(const std::string&)>& in_flight) {
  JournalGroupLock::Scoped lock(&mu_);
  absl::StatusOr<PostgresRows> mine = db_->Query(
      "SELECT request_id FROM borrows WHERE state = 'PENDING' AND owner = "
      "$1::integer",
      {absl::StrCat(replica_id())});
  if (!mine.ok()) return JournalError(mine.status(), "read");
  for (int i = 0; i < mine->size(); ++i) {
    const std::string id = mine->At(i, 0).value_or("");
    if (in_flight && in_flight(id)) continue;
    absl::StatusOr<PostgresRows> released = WriteStatement(
        "WITH turn AS (DELETE FROM risk_unit_turns WHERE request_id = $1 AND "
        "owner = $2::integer) UPDATE borrows SET owner = NULL WHERE "
        "request_id = $1 AND state = 'PENDING' AND owner = $2::integer",
        {id, absl::StrCat(replica_id())});
    if (!released.ok()) return released.status();
    LogLine("warn", "journal_record_released")
        .Str("request_id", id)
        .Str("effect", "no call works on it here: reconciliation settles it")
        .Emit();
  }
  return absl::OkStatus();
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
