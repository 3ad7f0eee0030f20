#include "postgres/postgres_connection.h"

#include <cstdlib>
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
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::AbortedError(text);
  }
  return absl::InternalError(text);
}

absl::StatusOr<std::unique_ptr<PostgresConnection>> PostgresConnection::Open(
    std::string url) {
  std::unique_ptr<PostgresConnection> connection(
      new PostgresConnection(std::move(url)));
  if (absl::Status up = connection->Connect(); !up.ok()) return up;
  return connection;
}

PostgresConnection::~PostgresConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PostgresConnection::connected() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

absl::Status PostgresConnection::Connect() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  // libpq's message names the host and the user, never the password.
  return StatusOfPostgresError(nullptr, PQerrorMessage(conn_));
}

absl::StatusOr<PostgresRows> PostgresConnection::Exec(
    const std::string& sql, const std::vector<std::string>& params) {
  if (!connected()) {
    if (absl::Status up = Connect(); !up.ok()) return up;
  }
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

}  // namespace loan_gateway
