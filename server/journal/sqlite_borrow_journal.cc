#include "journal/sqlite_borrow_journal.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit/audit_line.h"
#include "journal/wal_write_combining_vfs.h"

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
  error          BLOB,
  note           TEXT,
  kind           TEXT NOT NULL DEFAULT 'BORROW',
  result_amount  TEXT
);
CREATE INDEX IF NOT EXISTS borrows_state ON borrows(state, created_ms);
-- Rolling caps sum a caller's recent borrows.
CREATE INDEX IF NOT EXISTS borrows_caller ON borrows(caller, asset, created_ms);
-- ListOperations pages newest first.
CREATE INDEX IF NOT EXISTS borrows_created ON borrows(created_ms, request_id);
-- A Binance transaction belongs to one borrow at most.
CREATE UNIQUE INDEX IF NOT EXISTS borrows_transaction ON borrows(transaction_id)
  WHERE transaction_id != '';
-- Every signed request, committed before it is sent.
CREATE TABLE IF NOT EXISTS attempts (
  request_id     TEXT NOT NULL,
  seq            INTEGER NOT NULL,
  group_id       INTEGER NOT NULL,
  asset          TEXT NOT NULL,
  amount         TEXT NOT NULL,
  signed_ms      INTEGER NOT NULL,
  recv_window_ms INTEGER NOT NULL,
  state          TEXT NOT NULL,
  kind           TEXT NOT NULL DEFAULT 'BORROW',
  PRIMARY KEY (request_id, seq)
);
-- The attempts that may still execute, by risk unit: only those are ever
-- looked up by risk unit, and an index of every attempt ever made put each
-- borrow's two commits on a page of their own per risk unit.
DROP INDEX IF EXISTS attempts_open;
CREATE INDEX IF NOT EXISTS attempts_sent ON attempts(group_id, asset)
  WHERE state = 'SENT';
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
-- The audit trail, with --audit_in_journal: each line exactly as the file
-- would hold it, committed with the journal writes of its group.
CREATE TABLE IF NOT EXISTS audit_log (
  seq    INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL,
  line   TEXT NOT NULL
);
)sql";

// Version 1 added attempts and notes. A journal written before it has no
// attempts: each of its unsettled records gets one spanning everything its
// request could have carried (from its intent, the widest recvWindow), so
// reconciliation stays conservative about it.
// Version 2 added the operation kind (borrow, repay) and the amount Binance
// says an operation moved (a repay may pay less than asked).
constexpr int kSchemaVersion = 2;
constexpr char kMigrateToV1[] = R"sql(
ALTER TABLE borrows ADD COLUMN note TEXT;
INSERT INTO attempts
  (request_id, seq, group_id, asset, amount, signed_ms, recv_window_ms, state)
  SELECT request_id, 1, group_id, asset, amount, created_ms, 60000, 'SENT'
  FROM borrows WHERE state IN ('PENDING', 'UNKNOWN');
)sql";
// (A version-0 journal had no attempts table: kSchema made it, kind
// included; only a version-1 one needs its attempts altered.)
constexpr char kMigrateBorrowsToV2[] = R"sql(
ALTER TABLE borrows ADD COLUMN kind TEXT NOT NULL DEFAULT 'BORROW';
ALTER TABLE borrows ADD COLUMN result_amount TEXT;
)sql";
constexpr char kMigrateAttemptsToV2[] = R"sql(
ALTER TABLE attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'BORROW';
)sql";

constexpr char kColumns[] =
    "request_id, caller, group_id, asset, amount, created_ms, updated_ms, "
    "state, reconciled, retryable, transaction_id, error, note, kind, "
    "result_amount";
constexpr char kAttemptColumns[] =
    "request_id, seq, group_id, asset, amount, signed_ms, recv_window_ms, "
    "state, kind";

}  // namespace

// Every statement the journal runs, prepared once per connection: parsing
// SQL again on each write was a fifth of the journal thread's time.
class StatementCache {
 public:
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache() {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  sqlite3* db() const { return db_; }
  // The prepared statement for `sql`, and its cache entry; a second one,
  // prepared for the occasion (no entry), while the cached one is in use.
  int Acquire(absl::string_view sql, sqlite3_stmt** stmt, Cached** entry) {
    auto it = cache_.find(sql);
    if (it != cache_.end() && !it->second.in_use) {
      it->second.in_use = true;
      *stmt = it->second.stmt;
      *entry = &it->second;
      return SQLITE_OK;
    }
    const int rc =
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
    *entry = nullptr;
    if (rc == SQLITE_OK && it == cache_.end()) {
      *entry =
          &cache_.emplace(std::string(sql), Cached{*stmt, true}).first->second;
    }
    return rc;
  }
  static void Release(sqlite3_stmt* stmt, Cached* entry) {
    if (entry == nullptr) {
      sqlite3_finalize(stmt);
      return;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    entry->in_use = false;
  }

 private:
  sqlite3* const db_;
  // Node-based: a Statement keeps its entry's address across the inserts
  // of statements nested inside it.
  absl::node_hash_map<std::string, Cached> cache_;
};

namespace {

// One use of a cached prepared statement, reset on scope exit.
class Statement {
 public:
  // `sql` is looked up, not copied: the cache keys its own copy.
  Statement(StatementCache& cache, absl::string_view sql) : cache_(cache) {
    rc_ = cache_.Acquire(sql, &stmt_, &entry_);
  }
  ~Statement() { StatementCache::Release(stmt_, entry_); }
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
  bool IsNull(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }
  absl::Status Error(absl::string_view what) const {
    return absl::UnavailableError(
        absl::StrCat("journal ", what, ": ", sqlite3_errmsg(cache_.db())));
  }

 private:
  StatementCache& cache_;
  sqlite3_stmt* stmt_ = nullptr;
  StatementCache::Cached* entry_ = nullptr;
  int rc_;
};

JournalRecord ReadRecord(const Statement& s) {
  JournalRecord r;
  r.request_id = s.Text(0);
  r.caller = s.Text(1);
  r.group_id = s.Int(2);
  r.asset = s.Text(3);
  r.amount = s.Text(4);
  r.created = absl::FromUnixMillis(s.Int(5));
  r.updated = absl::FromUnixMillis(s.Int(6));
  r.state = ParseOutcome(s.Text(7)).value_or(Outcome::kPending);
  r.reconciled = s.Int(8) != 0;
  r.retryable = s.Int(9) != 0;
  r.transaction_id = s.Text(10);
  r.error = s.Text(11);
  r.note = s.Text(12);
  r.kind = ParseOperationKind(s.Text(13)).value_or(OperationKind::kBorrow);
  r.result_amount = s.Text(14);
  return r;
}

AttemptRecord ReadAttempt(const Statement& s) {
  AttemptRecord a;
  a.request_id = s.Text(0);
  a.seq = static_cast<int>(s.Int(1));
  a.group_id = s.Int(2);
  a.asset = s.Text(3);
  a.amount = s.Text(4);
  a.signed_ms = s.Int(5);
  a.recv_window_ms = s.Int(6);
  a.state = ParseAttemptState(s.Text(7));
  a.kind = ParseOperationKind(s.Text(8)).value_or(OperationKind::kBorrow);
  return a;
}

// Binds an attempt's fields as ?1 (request_id) and ?2..?7 (group_id, asset,
// amount, signed_ms, recv_window_ms, kind): both of BeginAttempt's inserts.
Statement& BindAttempt(Statement& s, const AttemptRecord& a) {
  return s.Bind(1, a.request_id)
      .Bind(2, a.group_id)
      .Bind(3, a.asset)
      .Bind(4, a.amount)
      .Bind(5, a.signed_ms)
      .Bind(6, a.recv_window_ms)
      .Bind(7, std::string(OperationKindName(a.kind)));
}

// Opens (or, when allowed, creates) the file with mode 0600 before SQLite
// does: SQLite gives its -wal and -shm files the database file's mode.
absl::StatusOr<int> OpenJournalFile(const std::string& path,
                                    bool create_if_missing) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (!create_if_missing) {
      return absl::FailedPreconditionError(absl::StrCat(
          "journal ", path,
          " does not exist. If this is the gateway's first start, start it "
          "once with --create_journal. If a journal existed, restore it: an "
          "empty one would forget every request_id and every borrow whose "
          "outcome is still unknown"));
    }
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot open journal ", path, " for writing: ", std::strerror(errno)));
  }
  if (::fchmod(fd, 0600) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat(
        "cannot make journal ", path, " private: ", std::strerror(error)));
  }
  return fd;
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// Every use of a journal's connection holds the journal's own lock (mu_),
// so SQLite's locks only cost: its mutex around each call on the connection
// and the global one it takes at each allocation to keep memory statistics
// (nothing reads them) were ~5 % of the journal thread.
constexpr int kOpenFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
void StopSqliteMemoryStatistics() {
  // Only possible before SQLite first initializes: when another part of the
  // process used it earlier, SQLite refuses and the statistics stay on.
  [[maybe_unused]] static const int configured =
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

// One process writes a journal file: its audit trail is one chain.
absl::Status OneChainOnly() {
  return absl::InvalidArgumentError(
      "the SQLite journal holds one audit chain, named \"\"");
}

// The pid a running gateway recorded in the journal it holds (best effort:
// a read-only look, which WAL allows beside the writer).
std::string HolderPid(const std::string& path) {
  sqlite3* db = nullptr;
  std::string pid = "unknown";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT value FROM meta WHERE name = 'holder_pid'",
                           -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      pid = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return pid;
}

// One process per journal: "one borrow in flight per risk unit", the window
// waits and attribution all assume no other process signs from it. The lock
// is on the file itself (flock, independent of SQLite's fcntl locks) and
// goes with the process, however it ends.
absl::Status LockExclusively(int fd, const std::string& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
  if (errno != EWOULDBLOCK) {
    return absl::UnavailableError(
        absl::StrCat("cannot lock journal ", path, ": ", std::strerror(errno)));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "journal ", path, " is in use by another gateway process (pid ",
      HolderPid(path),
      "); one journal serves one process: stop that one, or give this one "
      "its own journal and credit account"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteBorrowJournal>> SqliteBorrowJournal::Open(
    const std::string& path, const JournalOpenOptions& options) {
  StopSqliteMemoryStatistics();
  absl::StatusOr<int> fd = OpenJournalFile(path, options.create_if_missing);
  if (!fd.ok()) return fd.status();
  if (absl::Status locked = LockExclusively(*fd, path); !locked.ok()) {
    ::close(*fd);
    return locked;
  }
  sqlite3* db = nullptr;
  // Never SQLITE_OPEN_CREATE: the file exists by now, and must.
  // SQLite's WAL frames reach the file a group commit at a time.
  if (sqlite3_open_v2(path.c_str(), &db, kOpenFlags, WalWriteCombiningVfs()) !=
      SQLITE_OK) {
    std::string error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    ::close(*fd);
    return absl::UnavailableError(
        absl::StrCat("cannot open journal ", path, ": ", error));
  }
  std::unique_ptr<SqliteBorrowJournal> journal(
      new SqliteBorrowJournal(db, path, *fd));
  if (absl::Status s = journal->Prepare(/*durable_file=*/true); !s.ok()) {
    return s;
  }
  if (absl::Status s = journal->LoadIndexAtOpen(); !s.ok()) return s;
  return journal;
}

absl::StatusOr<std::unique_ptr<SqliteBorrowJournal>>
SqliteBorrowJournal::OpenInMemory() {
  StopSqliteMemoryStatistics();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, kOpenFlags, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return absl::UnavailableError("cannot open an in-memory journal");
  }
  std::unique_ptr<SqliteBorrowJournal> journal(
      new SqliteBorrowJournal(db, ":memory:", -1));
  if (absl::Status s = journal->Prepare(/*durable_file=*/false); !s.ok()) {
    return s;
  }
  if (absl::Status s = journal->LoadIndexAtOpen(); !s.ok()) return s;
  return journal;
}

absl::Status SqliteBorrowJournal::Prepare(bool durable_file) {
  JournalGroupLock::Scoped lock(&mu_);
  if (durable_file) {
    sqlite3_busy_timeout(db_, 2000);
    if (sqlite3_db_readonly(db_, "main") == 1) {
      return absl::UnavailableError(
          absl::StrCat("journal ", path_, " is read-only"));
    }
    // The WAL checkpoint runs inside the commit that crosses the limit. At
    // SQLite's default (1,000 pages) every ~50th one-caller borrow paid it,
    // which put it in the p99; at 4,000 (one wal-index segment) every
    // ~200th does, at a cost that grows less than the interval (a hot page
    // is copied once per checkpoint). Measured interleaved on one machine:
    // one-caller p99 3.3-3.8 -> 2.1-2.3 ms, the same maximum and throughput.
    for (const char* sql :
         {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;",
          "PRAGMA wal_autocheckpoint=4000;"}) {
      if (absl::Status s = Exec(sql); !s.ok()) return s;
    }
  }
  if (absl::Status s = Migrate(); !s.ok()) return s;
  // A real write now, so that a journal that cannot take one stops the start
  // instead of refusing every borrow later.
  for (const auto& [name, value] :
       {std::pair{"last_opened_ms", absl::StrCat(NowMs())},
        std::pair{"holder_pid", absl::StrCat(::getpid())}}) {
    Statement opened(*statements_,
                     "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)");
    opened.Bind(1, name);
    opened.Bind(2, value);
    if (!opened.ok() || opened.Step() != SQLITE_DONE) {
      return opened.Error(absl::StrCat("write at open (", path_, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status SqliteBorrowJournal::Migrate() {
  // Each read is reset before the schema runs: DROP INDEX fails while a
  // statement of the connection is still open.
  int64_t current = 0;
  {
    Statement version(*statements_, "PRAGMA user_version");
    if (!version.ok() || version.Step() != SQLITE_ROW)
      return version.Error("read");
    current = version.Int(0);
  }
  if (current >= kSchemaVersion) {
    // One transaction: a crash between an index's DROP and its successor's
    // CREATE leaves neither.
    if (absl::Status s = Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
    absl::Status s = Exec(kSchema);
    if (s.ok()) s = Exec("COMMIT;");
    if (!s.ok()) Exec("ROLLBACK;").IgnoreError();
    return s;
  }
  bool legacy = false;
  {
    Statement had_borrows(*statements_,
                          "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'borrows'");
    if (!had_borrows.ok()) return had_borrows.Error("read");
    legacy = had_borrows.Step() == SQLITE_ROW;
  }
  if (absl::Status s = Exec("BEGIN IMMEDIATE;"); !s.ok()) return s;
  absl::Status s = Exec(kSchema);
  if (s.ok() && legacy && current < 1) s = Exec(kMigrateToV1);
  if (s.ok() && legacy && current < 2) s = Exec(kMigrateBorrowsToV2);
  if (s.ok() && legacy && current == 1) s = Exec(kMigrateAttemptsToV2);
  if (s.ok())
    s = Exec(
        absl::StrCat("PRAGMA user_version = ", kSchemaVersion, ";").c_str());
  if (s.ok()) s = Exec("COMMIT;");
  if (!s.ok()) Exec("ROLLBACK;").IgnoreError();
  return s;
}

SqliteBorrowJournal::~SqliteBorrowJournal() {
  JournalGroupLock::Scoped lock(&mu_);
  statements_.reset();  // Finalized before the connection closes.
  sqlite3_close(db_);
  ::close(fd_);
}

SqliteBorrowJournal::SqliteBorrowJournal(sqlite3* db, std::string path, int fd)
    : path_(std::move(path)),
      fd_(fd),
      db_(db),
      statements_(std::make_unique<StatementCache>(db)) {}

absl::Status SqliteBorrowJournal::LoadIndexAtOpen() {
  JournalGroupLock::Scoped lock(&mu_);
  return LoadUnsettledIndex();
}

// mu_ stays held from here to CommitGroup: no other thread may read what
// the group has not committed, or add its own writes to it.
absl::Status SqliteBorrowJournal::BeginGroup() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu_.BeginGroup();
  if (absl::Status s = Run("BEGIN IMMEDIATE"); !s.ok()) {
    mu_.EndGroup();
    return s;
  }
  group_failed_ = false;
  // Once for the group's writes, which all commit together (two file
  // lookups for each intent and each attempt were 3 % of the thread).
  group_intact_ = CheckIntact();
  return absl::OkStatus();
}

absl::Status SqliteBorrowJournal::CheckIntactForWrite() {
  return mu_.InGroup() ? group_intact_ : CheckIntact();
}

absl::Status SqliteBorrowJournal::CommitGroup() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!mu_.InGroup()) {
    return absl::FailedPreconditionError("no journal group open here");
  }
  absl::Status committed =
      group_failed_ || sqlite3_get_autocommit(db_) != 0
          ? absl::UnavailableError(
                "journal: a write failed in a way that undid its group")
          : Run("COMMIT");
  if (!committed.ok()) {
    if (sqlite3_get_autocommit(db_) == 0) Run("ROLLBACK").IgnoreError();
    // The group's writes had updated the index; storage has the truth.
    LoadUnsettledIndex().IgnoreError();
  }
  mu_.EndGroup();
  return committed;
}

absl::Status SqliteBorrowJournal::CheckGroupOpen() {
  if (!mu_.InGroup()) return absl::OkStatus();
  // SQLite ends a transaction by itself on some errors (a full disk, an
  // I/O error): the group's earlier writes are gone, and a write now would
  // commit on its own, out of the group. Neither may look durable.
  if (group_failed_ || sqlite3_get_autocommit(db_) != 0) {
    group_failed_ = true;
    return absl::UnavailableError(
        "journal: an earlier write undid this group's transaction");
  }
  return absl::OkStatus();
}

absl::Status SqliteBorrowJournal::FailedWrite(absl::Status status) {
  if (mu_.InGroup() && sqlite3_get_autocommit(db_) != 0) group_failed_ = true;
  return status;
}

absl::Status SqliteBorrowJournal::BeginWrite() {
  if (!mu_.InGroup()) return Run("BEGIN IMMEDIATE");
  if (absl::Status open = CheckGroupOpen(); !open.ok()) return open;
  return Run("SAVEPOINT journal_write");
}

absl::Status SqliteBorrowJournal::EndWrite() {
  if (!mu_.InGroup()) return Run("COMMIT");
  absl::Status released = Run("RELEASE journal_write");
  if (!released.ok()) group_failed_ = true;
  return released;
}

void SqliteBorrowJournal::UndoWrite() {
  if (!mu_.InGroup()) {
    Run("ROLLBACK").IgnoreError();
    return;
  }
  if (sqlite3_get_autocommit(db_) != 0 ||
      !Run("ROLLBACK TO journal_write").ok() ||
      !Run("RELEASE journal_write").ok()) {
    group_failed_ = true;
  }
}

absl::Status SqliteBorrowJournal::AppendAuditLines(
    const std::string& chain, const std::vector<ChainedAuditLine>& lines) {
  if (!chain.empty()) return OneChainOnly();
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  absl::Status written = absl::OkStatus();
  for (const ChainedAuditLine& line : lines) {
    // The primary key refuses a seq written twice (a fork of the chain).
    Statement insert(*statements_,
                     "INSERT INTO audit_log (seq, sha256, line) VALUES (?, ?, "
                     "?)");
    insert.Bind(1, static_cast<int64_t>(line.seq));
    insert.Bind(2, line.sha256);
    insert.Bind(3, line.text);
    if (!insert.ok() || insert.Step() != SQLITE_DONE) {
      written = insert.Error("audit write");
      break;
    }
  }
  // Undone (the statement reset first) when it failed or did not commit: a
  // transaction left open would show later reads rows that are not durable.
  if (written.ok()) written = EndWrite();
  if (!written.ok()) UndoWrite();
  return written;
}

absl::StatusOr<std::string> SqliteBorrowJournal::AuditLines(
    const std::string& chain) {
  if (!chain.empty()) return OneChainOnly();
  JournalGroupLock::Scoped lock(&mu_);
  Statement lines(*statements_, "SELECT line FROM audit_log ORDER BY seq");
  if (!lines.ok()) return lines.Error("audit read");
  std::string text;
  int rc = SQLITE_ROW;
  while ((rc = lines.Step()) == SQLITE_ROW) text += lines.Text(0);
  if (rc != SQLITE_DONE) return lines.Error("audit read");
  return text;
}

absl::StatusOr<AuditHead> SqliteBorrowJournal::LastAuditLine(
    const std::string& chain) {
  if (!chain.empty()) return OneChainOnly();
  JournalGroupLock::Scoped lock(&mu_);
  Statement last(*statements_,
                 "SELECT seq, sha256 FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (!last.ok()) return last.Error("audit read");
  const int rc = last.Step();
  if (rc == SQLITE_DONE) {
    return AuditHead{.sha256 = std::string(kAuditGenesisSha256)};
  }
  if (rc != SQLITE_ROW) return last.Error("audit read");
  return AuditHead{.seq = static_cast<uint64_t>(last.Int(0)),
                   .sha256 = last.Text(1)};
}

absl::Status SqliteBorrowJournal::CheckIntact() const {
  if (fd_ < 0) return absl::OkStatus();  // In memory: nothing to replace.
  struct stat open_file {};
  struct stat named {};
  if (::fstat(fd_, &open_file) != 0) {
    return absl::UnavailableError(
        absl::StrCat("journal ", path_, ": ", std::strerror(errno)));
  }
  if (::stat(path_.c_str(), &named) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "journal ", path_, " was deleted or renamed while the gateway runs (",
        std::strerror(errno), "); nothing more is signed"));
  }
  if (named.st_dev != open_file.st_dev || named.st_ino != open_file.st_ino ||
      open_file.st_nlink == 0) {
    return absl::UnavailableError(absl::StrCat(
        "journal ", path_,
        " was replaced by another file while the gateway runs; nothing more "
        "is signed"));
  }
  return absl::OkStatus();
}

absl::Status SqliteBorrowJournal::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status =
        absl::UnavailableError(absl::StrCat("journal: ", error ? error : "?"));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

// A transaction-control statement, prepared once like every other: parsing
// SAVEPOINT and RELEASE again for each write was a tenth of the journal
// thread's time.
absl::Status SqliteBorrowJournal::Run(const char* sql) {
  Statement s(*statements_, sql);
  if (!s.ok() || s.Step() != SQLITE_DONE) return s.Error("write");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<JournalRecord>> SqliteBorrowJournal::GetLocked(
    const std::string& request_id) {
  static const std::string* const kSql = new std::string(
      absl::StrCat("SELECT ", kColumns, " FROM borrows WHERE request_id = ?"));
  Statement s(*statements_, *kSql);
  if (!s.ok()) return s.Error("read");
  s.Bind(1, request_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<JournalRecord>();
  if (rc != SQLITE_ROW) return s.Error("read");
  return std::optional<JournalRecord>(ReadRecord(s));
}

absl::StatusOr<std::optional<JournalRecord>> SqliteBorrowJournal::Get(
    const std::string& request_id) {
  JournalGroupLock::Scoped lock(&mu_);
  return GetLocked(request_id);
}

absl::StatusOr<std::optional<JournalRecord>> SqliteBorrowJournal::InsertIntent(
    const JournalRecord& intent) {
  JournalGroupLock::Scoped lock(&mu_);
  // What leads to signing is written only to the journal a restart reads.
  if (absl::Status intact = CheckIntactForWrite(); !intact.ok()) {
    return intact;
  }
  // Each path below changes the journal with one statement at most (the
  // insert, or a retry's update), so it needs no savepoint: SQLite undoes a
  // statement that fails.
  if (absl::Status open = CheckGroupOpen(); !open.ok()) return open;
  const int64_t now = NowMs();
  // The insert itself answers whether the request_id is new: only a
  // conflict costs a read.
  static const std::string* const kSql = new std::string(
      absl::StrCat("INSERT INTO borrows (", kColumns,
                   ") VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, 0, NULL, "
                   "NULL, NULL, ?, NULL) ON CONFLICT (request_id) DO NOTHING"));
  Statement insert(*statements_, *kSql);
  insert.Bind(1, intent.request_id)
      .Bind(2, intent.caller)
      .Bind(3, intent.group_id)
      .Bind(4, intent.asset)
      .Bind(5, intent.amount)
      .Bind(6, absl::ToUnixMillis(intent.created))
      .Bind(7, now)
      .Bind(8, std::string(OperationKindName(intent.kind)));
  if (!insert.ok() || insert.Step() != SQLITE_DONE) {
    return FailedWrite(insert.Error("write"));
  }
  if (sqlite3_changes(db_) == 0) {
    absl::StatusOr<std::optional<JournalRecord>> existing =
        GetLocked(intent.request_id);
    if (!existing.ok()) return FailedWrite(existing.status());
    if (!existing->has_value()) {
      return absl::UnavailableError(
          "journal: a conflicting request_id could not be read");
    }
    const JournalRecord& old = **existing;
    if (!old.AttemptedAgainBy(intent)) return existing;
    Statement s(
        *statements_,
        "UPDATE borrows SET state = 'PENDING', retryable = 0, error = NULL, "
        "created_ms = ?, updated_ms = ? WHERE request_id = ?");
    // A new attempt starts a new window for reconciliation.
    s.Bind(1, absl::ToUnixMillis(intent.created))
        .Bind(2, now)
        .Bind(3, intent.request_id);
    if (!s.ok() || s.Step() != SQLITE_DONE) {
      return FailedWrite(s.Error("write"));
    }
  }
  unsettled_.MarkUnsettled(intent.request_id, "");
  return std::optional<JournalRecord>();
}

absl::Status SqliteBorrowJournal::MarkAttempts(const std::string& request_id,
                                               AttemptState from,
                                               AttemptState to) {
  // The states are written into the SQL, not bound: a bound state compared
  // with the partial index's makes SQLite prepare the statement again on
  // every use. Each pair's text is made once (mu_ is held).
  std::string& sql =
      mark_attempts_sql_[static_cast<int>(from)][static_cast<int>(to)];
  if (sql.empty()) {
    sql = absl::StrCat("UPDATE attempts SET state = '", AttemptStateName(to),
                       "' WHERE request_id = ? AND state = '",
                       AttemptStateName(from), "'");
  }
  Statement s(*statements_, sql);
  s.Bind(1, request_id);
  if (!s.ok() || s.Step() != SQLITE_DONE) return s.Error("write");
  return absl::OkStatus();
}

// Takes `transaction_id` back from a record reconciliation gave it to:
// Binance's direct answer to `request_id` says it is that borrow's. Returns
// the reopened record's request_id ("" when nobody held it).
absl::StatusOr<std::string> SqliteBorrowJournal::ReopenHolderOf(
    const std::string& transaction_id, const std::string& request_id) {
  // "!= ''" lets SQLite use the partial index on transaction ids (it cannot
  // tell a bound value is not empty): without it, every success scanned
  // the whole table.
  Statement find(*statements_,
                 "SELECT request_id, reconciled FROM borrows WHERE "
                 "transaction_id = ? AND transaction_id != '' AND "
                 "request_id != ?");
  if (!find.ok()) return find.Error("read");
  find.Bind(1, transaction_id).Bind(2, request_id);
  const int rc = find.Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return find.Error("read");
  const std::string holder = find.Text(0);
  if (find.Int(1) == 0) {
    // Two direct answers with one id: nothing to take back from; an
    // operator must look (the UNIQUE index refuses the second).
    return absl::FailedPreconditionError(
        absl::StrCat("transaction ", transaction_id,
                     " is already the direct answer to ", holder));
  }
  Statement reopen(
      *statements_,
      "UPDATE borrows SET state = 'UNKNOWN', reconciled = 0, transaction_id "
      "= NULL, note = ?, updated_ms = ? WHERE request_id = ?");
  reopen
      .Bind(1, absl::StrCat("reopened: reconciliation had attributed "
                            "transaction ",
                            transaction_id,
                            " to it, but Binance's direct "
                            "answer to ",
                            request_id, " named that transaction"))
      .Bind(2, NowMs())
      .Bind(3, holder);
  if (!reopen.ok() || reopen.Step() != SQLITE_DONE)
    return reopen.Error("write");
  if (absl::Status s =
          MarkAttempts(holder, AttemptState::kExecuted, AttemptState::kSent);
      !s.ok()) {
    return s;
  }
  return holder;
}

absl::Status SqliteBorrowJournal::UpdateOutcome(const std::string& request_id,
                                                const OutcomeToRecord& outcome,
                                                bool* transaction_held) {
  Statement s(
      *statements_,
      "UPDATE borrows SET state = ?, reconciled = ?, retryable = ?, "
      "transaction_id = ?, error = ?, updated_ms = ?, note = NULL, "
      "result_amount = ? WHERE request_id = ? AND (state = 'PENDING' OR "
      "(state = 'UNKNOWN' AND ?))");
  if (!s.ok()) return s.Error("write");
  s.Bind(1, std::string(OutcomeName(outcome.state)))
      .Bind(2, int64_t{outcome.reconciled})
      .Bind(3, int64_t{outcome.retryable});
  s.Bind(4, outcome.transaction_id)
      .BindBlob(5, outcome.error)
      .Bind(6, NowMs())
      .Bind(7, outcome.result_amount)
      .Bind(8, request_id)
      .Bind(9, int64_t{outcome.reconciled});
  if (s.Step() == SQLITE_DONE) return absl::OkStatus();
  // The only unique index an outcome can break is the transaction id's.
  *transaction_held = sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE;
  return s.Error("write");
}

absl::StatusOr<OutcomeWritten> SqliteBorrowJournal::RecordOutcome(
    const std::string& request_id, const OutcomeToRecord& outcome) {
  const Outcome state = outcome.state;
  const bool reconciled = outcome.reconciled;
  const std::string& transaction_id = outcome.transaction_id;
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status s = BeginWrite(); !s.ok()) return s;
  auto rollback = [&](absl::Status status) {
    UndoWrite();
    return status;
  };
  OutcomeWritten written;
  bool transaction_held = false;
  absl::Status updated = UpdateOutcome(request_id, outcome, &transaction_held);
  if (transaction_held && state == Outcome::kSucceeded && !reconciled &&
      !transaction_id.empty()) {
    // Binance's direct answer names a transaction another record holds:
    // only now is that record looked up (and, if reconciliation gave it the
    // transaction, reopened); a read before every success cost more.
    absl::StatusOr<std::string> reopened =
        ReopenHolderOf(transaction_id, request_id);
    if (!reopened.ok()) return rollback(reopened.status());
    written.reopened_request_id = *reopened;
    updated = UpdateOutcome(request_id, outcome, &transaction_held);
  }
  if (!updated.ok()) return rollback(updated);
  if (sqlite3_changes(db_) != 1) {
    // Never overwrite a settled outcome (e.g. reconciliation racing the call).
    return rollback(absl::FailedPreconditionError(
        absl::StrCat("journal has no unsettled intent ", request_id)));
  }
  absl::Status marked = absl::OkStatus();
  if (state == Outcome::kSucceeded) {
    marked =
        MarkAttempts(request_id, AttemptState::kSent, AttemptState::kExecuted);
  } else if (state == Outcome::kRejected && !reconciled) {
    marked = MarkAttempts(request_id, AttemptState::kSent,
                          AttemptState::kNotExecuted);
  }
  if (!marked.ok()) return rollback(marked);
  if (absl::Status c = EndWrite(); !c.ok()) return rollback(c);
  if (state == Outcome::kSucceeded || state == Outcome::kRejected) {
    unsettled_.MarkSettled(request_id);
  } else {
    unsettled_.MarkUnsettled(request_id, "");  // The note is cleared.
  }
  if (!written.reopened_request_id.empty()) {
    unsettled_.MarkUnsettled(written.reopened_request_id, "");
  }
  return written;
}

absl::Status SqliteBorrowJournal::BeginAttempt(const AttemptRecord& a) {
  JournalGroupLock::Scoped lock(&mu_);
  if (absl::Status intact = CheckIntactForWrite(); !intact.ok()) {
    return intact;
  }
  if (absl::Status open = CheckGroupOpen(); !open.ok()) return open;
  // Most requests are sent once: seq 1 still free means the request has no
  // attempts at all (they are only ever deleted all together), so nothing to
  // supersede, and one insert (no savepoint: SQLite undoes a statement that
  // fails) is the whole write.
  static const std::string* const kSql =
      new std::string(absl::StrCat("INSERT INTO attempts (", kAttemptColumns,
                                   ") VALUES (?, 1, ?, ?, ?, ?, ?, 'SENT', ?) "
                                   "ON CONFLICT DO NOTHING"));
  {
    Statement first(*statements_, *kSql);
    BindAttempt(first, a);
    if (!first.ok() || first.Step() != SQLITE_DONE) {
      return FailedWrite(first.Error("write"));
    }
    if (sqlite3_changes(db_) != 0) return absl::OkStatus();
  }
  // A resend: the earlier attempts superseded and this one added, together.
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
  {
    Statement next(
        *statements_,
        absl::StrCat("INSERT INTO attempts (", kAttemptColumns,
                     ") SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, "
                     "?, 'SENT', ? FROM attempts WHERE request_id = ?"));
    BindAttempt(next, a).Bind(8, a.request_id);
    if (!next.ok() || next.Step() != SQLITE_DONE) {
      return rollback(next.Error("write"));
    }
  }
  if (absl::Status c = EndWrite(); !c.ok()) return rollback(c);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AttemptRecord>> SqliteBorrowJournal::Attempts(
    const std::string& request_id) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_, absl::StrCat("SELECT ", kAttemptColumns,
                                         " FROM attempts WHERE request_id = ? "
                                         "ORDER BY seq"));
  if (!s.ok()) return s.Error("read");
  s.Bind(1, request_id);
  std::vector<AttemptRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadAttempt(s));
  if (rc != SQLITE_DONE) return s.Error("read");
  return out;
}

absl::StatusOr<std::vector<AttemptRecord>> SqliteBorrowJournal::OpenAttempts(
    int64_t group_id, const std::string& asset) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              absl::StrCat("SELECT ", kAttemptColumns,
                           " FROM attempts WHERE group_id = ? AND "
                           "state = 'SENT' AND asset = ? "
                           "ORDER BY signed_ms"));
  if (!s.ok()) return s.Error("read");
  s.Bind(1, group_id).Bind(2, asset);
  std::vector<AttemptRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadAttempt(s));
  if (rc != SQLITE_DONE) return s.Error("read");
  return out;
}

absl::StatusOr<std::optional<int64_t>> SqliteBorrowJournal::LatestOpenWindowEnd(
    int64_t group_id, const std::string& except_request_id) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              "SELECT MAX(signed_ms + recv_window_ms) FROM attempts WHERE "
              "group_id = ? AND state = 'SENT' AND request_id != ?");
  if (!s.ok()) return s.Error("read");
  s.Bind(1, group_id).Bind(2, except_request_id);
  if (s.Step() != SQLITE_ROW) return s.Error("read");
  if (s.IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(s.Int(0));
}

absl::Status SqliteBorrowJournal::SetNote(const std::string& request_id,
                                          const std::string& note) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              "UPDATE borrows SET note = ? WHERE request_id = ? AND state IN "
              "('PENDING', 'UNKNOWN') AND note IS NOT ?");
  if (!s.ok()) return s.Error("write");
  s.Bind(1, note).Bind(2, request_id).Bind(3, note);
  if (s.Step() != SQLITE_DONE) return s.Error("write");
  if (sqlite3_changes(db_) == 1) unsettled_.MarkUnsettled(request_id, note);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JournalRecord>> SqliteBorrowJournal::List(
    const RecordQuery& q) {
  // Each filter adds a condition with its own bound value, never text.
  std::vector<std::string> where;
  if (q.group_id) where.push_back("group_id = ?");
  if (q.asset) where.push_back("asset = ?");
  if (q.state) where.push_back("state = ?");
  if (q.caller) where.push_back("caller = ?");
  if (q.created_from) where.push_back("created_ms >= ?");
  if (q.created_before) where.push_back("created_ms < ?");
  if (q.after) {
    where.push_back("(created_ms < ? OR (created_ms = ? AND request_id < ?))");
  }
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              absl::StrCat("SELECT ", kColumns, " FROM borrows",
                           where.empty() ? "" : " WHERE ",
                           absl::StrJoin(where, " AND "),
                           " ORDER BY created_ms DESC, request_id DESC "
                           "LIMIT ?"));
  if (!s.ok()) return s.Error("read");
  int i = 0;
  if (q.group_id) s.Bind(++i, *q.group_id);
  if (q.asset) s.Bind(++i, *q.asset);
  if (q.state) s.Bind(++i, std::string(OutcomeName(*q.state)));
  if (q.caller) s.Bind(++i, *q.caller);
  if (q.created_from) s.Bind(++i, absl::ToUnixMillis(*q.created_from));
  if (q.created_before) s.Bind(++i, absl::ToUnixMillis(*q.created_before));
  if (q.after) {
    const int64_t created = absl::ToUnixMillis(q.after->created);
    s.Bind(i + 1, created).Bind(i + 2, created);
    s.Bind(i + 3, q.after->request_id);
    i += 3;
  }
  s.Bind(++i, static_cast<int64_t>(q.limit));
  std::vector<JournalRecord> records;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) records.push_back(ReadRecord(s));
  if (rc != SQLITE_DONE) return s.Error("read");
  return records;
}

absl::StatusOr<std::vector<JournalRecord>> SqliteBorrowJournal::Unsettled() {
  JournalGroupLock::Scoped lock(&mu_);
  return UnsettledLocked();
}

absl::StatusOr<std::vector<JournalRecord>>
SqliteBorrowJournal::UnsettledLocked() {
  Statement s(
      *statements_,
      absl::StrCat("SELECT ", kColumns,
                   " FROM borrows WHERE state IN ('PENDING', 'UNKNOWN') "
                   "ORDER BY created_ms, request_id"));
  if (!s.ok()) return s.Error("read");
  std::vector<JournalRecord> records;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) records.push_back(ReadRecord(s));
  if (rc != SQLITE_DONE) return s.Error("read");
  return records;
}

// From storage: at open, and after a group that did not commit (its writes
// had already updated the index).
absl::Status SqliteBorrowJournal::LoadUnsettledIndex() {
  absl::StatusOr<std::vector<JournalRecord>> unsettled = UnsettledLocked();
  if (!unsettled.ok()) return unsettled.status();
  unsettled_.Reset(*unsettled);
  return absl::OkStatus();
}

UnsettledCount SqliteBorrowJournal::CountUnsettled(
    const std::function<bool(const std::string&)>& skip) const {
  return unsettled_.Count(skip);
}

absl::StatusOr<std::vector<CallerBorrow>>
SqliteBorrowJournal::CallerBorrowsSince(const std::string& caller,
                                        const std::string& asset,
                                        absl::Time since) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              "SELECT created_ms, amount FROM borrows WHERE caller = ? AND "
              "asset = ? AND created_ms >= ? AND state != 'REJECTED' AND "
              "kind = 'BORROW'");
  if (!s.ok()) return s.Error("read");
  s.Bind(1, caller).Bind(2, asset).Bind(3, absl::ToUnixMillis(since));
  std::vector<CallerBorrow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back({absl::FromUnixMillis(s.Int(0)), s.Text(1)});
  }
  if (rc != SQLITE_DONE) return s.Error("read");
  return out;
}

absl::StatusOr<bool> SqliteBorrowJournal::TransactionClaimed(
    const std::string& transaction_id) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              "SELECT 1 FROM borrows WHERE transaction_id = ? AND "
              "transaction_id != '' LIMIT 1");
  if (!s.ok()) return s.Error("read");
  s.Bind(1, transaction_id);
  const int rc = s.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return s.Error("read");
  return rc == SQLITE_ROW;
}

absl::StatusOr<int> SqliteBorrowJournal::PurgeSettledBefore(absl::Time cutoff) {
  JournalGroupLock::Scoped lock(&mu_);
  Statement s(*statements_,
              "DELETE FROM borrows WHERE state IN ('SUCCEEDED', 'REJECTED') "
              "AND updated_ms < ?");
  if (!s.ok()) return s.Error("write");
  s.Bind(1, absl::ToUnixMillis(cutoff));
  if (s.Step() != SQLITE_DONE) return s.Error("write");
  const int purged = sqlite3_changes(db_);
  if (purged > 0) {
    Statement attempts(*statements_,
                       "DELETE FROM attempts WHERE request_id NOT IN "
                       "(SELECT request_id FROM borrows)");
    if (!attempts.ok() || attempts.Step() != SQLITE_DONE)
      return attempts.Error("write");
  }
  return purged;
}

}  // namespace loan_gateway
