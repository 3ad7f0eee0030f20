#ifndef LOAN_GATEWAY_SERVER_POSTGRES_POSTGRES_CONNECTION_H_
#define LOAN_GATEWAY_SERVER_POSTGRES_POSTGRES_CONNECTION_H_

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loan_gateway {

// The rows of one statement's answer, as text (amounts stay exact decimal
// strings; callers parse what they need).
class PostgresRows {
 public:
  explicit PostgresRows(PGresult* result) : result_(result, &PQclear) {}
  int size() const { return PQntuples(result_.get()); }
  // nullopt for SQL NULL.
  std::optional<std::string> At(int row, int column) const;
  // Rows a command changed (INSERT, UPDATE, DELETE).
  int64_t affected() const;
  // The command tag ("COMMIT", or "ROLLBACK" when a COMMIT found the
  // transaction failed: PostgreSQL rolls it back without an error).
  std::string command() const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// One libpq session to the journal's database (issue 16). Not thread-safe:
// one owner at a time, as SQLite's handle is owned by the journal thread.
//
// Errors say what a caller must branch on, by SQLSTATE class:
// - UNAVAILABLE: the session is gone or the server cannot serve (class 08
//   connection exceptions, 57P shutdowns, 53 insufficient resources): nothing
//   the statement did is committed unless a COMMIT was answered; the next
//   call reconnects by itself;
// - ALREADY_EXISTS: a unique key (23505), the idempotency answer;
// - ABORTED: serialization failure, deadlock or a lock not granted within
//   lock_timeout (40001, 40P01, 55P03): retry the transaction;
// - INTERNAL: anything else (a bug in our SQL).
// The connection URL is never in a message: it holds the password.
class PostgresConnection {
 public:
  using ConnectHook = std::function<absl::Status(PostgresConnection&)>;
  struct Options {
    // A file holding the password (a mounted Secret), read at each connect
    // so that a rotated password is used from the next session on.
    std::string password_file;
    // Runs after every (re)connect, before the statement that caused it:
    // what a session must hold again (a lock) is taken there; its error
    // fails that statement (or Open) and the session is dropped.
    ConnectHook on_connect;
  };
  // `url` is a libpq connection string or URI (postgres://...), TLS options
  // (sslmode=verify-full, sslrootcert=...) included.
  static absl::StatusOr<std::unique_ptr<PostgresConnection>> Open(
      std::string url, Options options = {});
  ~PostgresConnection();
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  // Runs one statement with text parameters ($1, $2, ...), reconnecting
  // first when the session was lost (but never inside a transaction opened
  // by Begin: its statements would run on a new session outside it and
  // commit on their own; they fail UNAVAILABLE until Rollback or Commit).
  // Statements are not resent after a lost session: the caller decides (a
  // COMMIT without an answer is unknown).
  absl::StatusOr<PostgresRows> Exec(
      const std::string& sql, const std::vector<std::string>& params = {});
  // Exec for a statement that changes nothing (a read, BEGIN): when the
  // session turns out to have been lost outside a transaction, it is run
  // once more on a new one. Inside a transaction it is not (the transaction
  // went with the session).
  absl::StatusOr<PostgresRows> Query(
      const std::string& sql, const std::vector<std::string>& params = {});
  // Query's one retry (only when the session turns out lost while idle,
  // outside a transaction) for a statement that changes something but whose
  // running twice is harmless (a weight count whose second add errs on the
  // safe side).
  absl::StatusOr<PostgresRows> ExecRepeatable(
      const std::string& sql, const std::vector<std::string>& params = {}) {
    return Query(sql, params);
  }
  // Runs statements separated by ';' (a schema), without parameters.
  absl::Status ExecScript(const std::string& sql);
  // Runs a schema script in a transaction of its own, under one advisory
  // lock every gateway's tables are made under: replicas starting together
  // on an empty database would otherwise race (concurrent CREATE TABLE IF
  // NOT EXISTS can fail on PostgreSQL's catalog). Durable when it returns.
  absl::Status ExecSchema(const std::string& sql);

  // A transaction: BEGIN (re-run once on a new session when the old one
  // turned out lost); COMMIT, checked (PostgreSQL answers a failed
  // transaction's COMMIT with ROLLBACK and no error, and a transaction
  // whose session was lost is gone: both UNAVAILABLE); ROLLBACK, which
  // always ends it here.
  absl::Status Begin();
  absl::Status Commit();
  void Rollback();

  bool connected() const;
  // Inside a transaction that can still commit (not idle, not failed, not
  // lost with the session).
  bool in_transaction() const;

 private:
  PostgresConnection(std::string url, Options options)
      : url_(std::move(url)), options_(std::move(options)) {}
  absl::Status Connect();

  absl::Status EnsureConnected();

  std::string url_;
  PGconn* conn_ = nullptr;
  Options options_;
  bool transaction_open_ = false;  // Between Begin and Commit or Rollback.
};

// The status for a failed statement's result (or a connection's failure when
// `result` is null), by the rules above.
absl::Status StatusOfPostgresError(const PGresult* result,
                                   const std::string& message);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_POSTGRES_POSTGRES_CONNECTION_H_
