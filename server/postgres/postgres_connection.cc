#include "postgres/postgres_connection.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace loan_gateway {

std::optional<std::string> PostgresRows::At(int row, int column) const {
  if (PQgetisnull(result_.get(), row, column)) return std::nullopt;
  return std::string(PQgetvalue(result_.get(), row, column),
                     PQgetlength(result_.get(), row, column));
}

int64_t PostgresRows::affected() const {
  const char* text = PQcmdTuples(result_.get());
  return text == nullptr || *text == '\0' ? 0 : std::atoll(text);
}

std::string PostgresRows::command() const {
  const char* tag = PQcmdStatus(result_.get());
  return tag == nullptr ? "" : tag;
}

absl::Status StatusOfPostgresError(const PGresult* result,
                                   const std::string& message) {
  const char* field = result == nullptr
                          ? nullptr
                          : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = field == nullptr ? "" : field;
  const std::string text =
      absl::StrCat("postgres", sqlstate.empty() ? "" : " SQLSTATE ", sqlstate,
                   ": ", absl::StripTrailingAsciiWhitespace(message));
  if (sqlstate.empty() || absl::StartsWith(sqlstate, "08") ||
      absl::StartsWith(sqlstate, "57P") || absl::StartsWith(sqlstate, "53")) {
    return absl::UnavailableError(text);
  }
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return absl::AbortedError(text);
  }
  return absl::InternalError(text);
}

absl::StatusOr<std::unique_ptr<PostgresConnection>> PostgresConnection::Open(
    std::string url, Options options) {
  std::unique_ptr<PostgresConnection> connection(
      new PostgresConnection(std::move(url), std::move(options)));
  if (absl::Status up = connection->EnsureConnected(); !up.ok()) return up;
  return connection;
}

PostgresConnection::~PostgresConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PostgresConnection::connected() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

bool PostgresConnection::in_transaction() const {
  return connected() && PQtransactionStatus(conn_) == PQTRANS_INTRANS;
}

absl::Status PostgresConnection::EnsureConnected() {
  if (connected()) return absl::OkStatus();
  if (absl::Status up = Connect(); !up.ok()) return up;
  if (!options_.on_connect) return absl::OkStatus();
  absl::Status held = options_.on_connect(*this);
  if (!held.ok()) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  return held;
}

absl::Status PostgresConnection::Connect() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;  // Never left pointing at a finished session.
  std::string password;
  if (!options_.password_file.empty()) {
    std::ifstream file(options_.password_file);
    std::stringstream text;
    text << file.rdbuf();
    if (!file) {
      return absl::UnavailableError(absl::StrCat(
          "cannot read the database password file ", options_.password_file));
    }
    password = std::string(absl::StripTrailingAsciiWhitespace(text.str()));
  }
  // Defaults first: what the URL says wins. A database that does not
  // answer must fail a statement in seconds (the caller then refuses with
  // UNAVAILABLE), not hang it on a dead TCP connection for minutes; and the
  // server must end the session of a gateway whose node vanished in seconds
  // too, not after the kernel's 2-hour keepalive: that session holds its
  // replica lock, and its risk units' turns wait for it (`options`).
  // And what the journal relies on, whatever the role's or database's
  // defaults: a COMMIT answered is durable (the SQLite journal fsyncs each),
  // and bytea comes back in hex. A lock held by another replica's open
  // transaction (one that lost its network, say) is waited for 2 s at most
  // (55P03): the journal's one thread must not hang behind it.
  constexpr char kSessionSettings[] =
      "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
      "-c tcp_keepalives_count=3 -c tcp_user_timeout=10000 "
      "-c synchronous_commit=on -c bytea_output=hex -c lock_timeout=2000";
  std::vector<const char*> keywords = {
      "connect_timeout",  "keepalives",
      "keepalives_idle",  "keepalives_interval",
      "keepalives_count", "tcp_user_timeout",
      "options",          "dbname"};
  std::vector<const char*> values = {
      "5", "1", "5", "2", "3", "10000", kSessionSettings, url_.c_str()};
  if (!password.empty()) {
    keywords.push_back("password");
    values.push_back(password.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keywords.data(), values.data(),
                            /*expand_dbname=*/1);
  // Notices ("relation already exists, skipping") would go to stderr, which
  // carries the gateway's JSON log lines only.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  // libpq's message names the host and the user, never the password.
  return StatusOfPostgresError(nullptr, PQerrorMessage(conn_));
}

absl::StatusOr<PostgresRows> PostgresConnection::Exec(
    const std::string& sql, const std::vector<std::string>& params) {
  if (transaction_open_ && !connected()) {
    return absl::UnavailableError(
        "postgres: the session was lost inside a transaction; nothing of it "
        "is committed");
  }
  if (absl::Status up = EnsureConnected(); !up.ok()) return up;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& param : params) values.push_back(param.c_str());
  PGresult* result =
      PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                   values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return PostgresRows(result);
  }
  // A lost session has no result or a result without a SQLSTATE.
  const std::string message = result != nullptr && *PQresultErrorMessage(result)
                                  ? PQresultErrorMessage(result)
                                  : PQerrorMessage(conn_);
  absl::Status failed = StatusOfPostgresError(result, message);
  PQclear(result);
  return failed;
}

absl::StatusOr<PostgresRows> PostgresConnection::Query(
    const std::string& sql, const std::vector<std::string>& params) {
  const bool idle = connected() && PQtransactionStatus(conn_) == PQTRANS_IDLE;
  absl::StatusOr<PostgresRows> rows = Exec(sql, params);
  if (rows.ok() || !idle || connected() ||
      !absl::IsUnavailable(rows.status())) {
    return rows;
  }
  return Exec(sql, params);
}

absl::Status PostgresConnection::Begin() {
  if (transaction_open_) Rollback();  // A caller's leftover: not ours to keep.
  absl::StatusOr<PostgresRows> begun = Query("BEGIN");
  if (!begun.ok()) return begun.status();
  transaction_open_ = true;
  return absl::OkStatus();
}

absl::Status PostgresConnection::Commit() {
  if (!transaction_open_) {
    return absl::FailedPreconditionError("postgres: no transaction to commit");
  }
  if (!in_transaction()) {
    Rollback();
    return absl::UnavailableError(
        "postgres: the transaction failed or its session was lost before the "
        "commit; nothing of it is committed");
  }
  absl::StatusOr<PostgresRows> committed = Exec("COMMIT");
  transaction_open_ = false;
  if (!committed.ok()) return committed.status();
  if (committed->command() != "COMMIT") {
    return absl::UnavailableError("postgres: the database rolled back");
  }
  return absl::OkStatus();
}

void PostgresConnection::Rollback() {
  transaction_open_ = false;
  if (connected() && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    PQclear(PQexec(conn_, "ROLLBACK"));
  }
}

absl::Status PostgresConnection::ExecSchema(const std::string& sql) {
  // Held to COMMIT (the journal's old schema key, kept). The session's own
  // synchronous_commit may be off (a weight count's): tables must last.
  absl::Status made = ExecScript(
      absl::StrCat("BEGIN; SET LOCAL synchronous_commit = on; SELECT "
                   "pg_advisory_xact_lock(7308613712466637313); ",
                   sql, "; COMMIT;"));
  if (!made.ok() && connected()) ExecScript("ROLLBACK;").IgnoreError();
  return made;
}

absl::Status PostgresConnection::ExecScript(const std::string& sql) {
  if (transaction_open_ && !connected()) {
    return absl::UnavailableError(
        "postgres: the session was lost inside a transaction; nothing of it "
        "is committed");
  }
  if (absl::Status up = EnsureConnected(); !up.ok()) return up;
  PGresult* result = PQexec(conn_, sql.c_str());
  absl::Status status = absl::OkStatus();
  if (PQresultStatus(result) != PGRES_COMMAND_OK &&
      PQresultStatus(result) != PGRES_TUPLES_OK) {
    status = StatusOfPostgresError(result, result != nullptr
                                               ? PQresultErrorMessage(result)
                                               : PQerrorMessage(conn_));
  }
  PQclear(result);
  return status;
}

}  // namespace loan_gateway
