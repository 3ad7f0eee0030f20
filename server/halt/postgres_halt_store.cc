#include "halt/postgres_halt_store.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "postgres/postgres_connection.h"

namespace loan_gateway {
namespace {

// One row at most: the halt in force.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS borrowing_halt (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  halted_by TEXT NOT NULL,
  reason    TEXT NOT NULL,
  since_ms  BIGINT NOT NULL
);
)sql";

absl::Status StoreError(const absl::Status& status, absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("shared halt ", what, ": ", status.message()));
}

std::optional<HaltRecord> RecordOf(const PostgresRows& rows) {
  if (rows.size() == 0) return std::nullopt;
  return HaltRecord{.by = rows.At(0, 0).value_or(""),
                    .reason = rows.At(0, 1).value_or(""),
                    .since = absl::FromUnixMillis(
                        std::atoll(rows.At(0, 2).value_or("0").c_str()))};
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresHaltStore>> PostgresHaltStore::Open(
    const std::string& url, const std::string& password_file) {
  absl::StatusOr<std::unique_ptr<PostgresConnection>> db =
      PostgresConnection::Open(url, {.password_file = password_file});
  if (!db.ok()) return StoreError(db.status(), "open");
  if (absl::Status made = (*db)->ExecSchema(kSchema); !made.ok()) {
    return StoreError(made, "schema");
  }
  return std::unique_ptr<PostgresHaltStore>(
      new PostgresHaltStore(*std::move(db)));
}

PostgresHaltStore::PostgresHaltStore(std::unique_ptr<PostgresConnection> db)
    : db_(std::move(db)) {}

PostgresHaltStore::~PostgresHaltStore() = default;

absl::StatusOr<std::optional<HaltRecord>> PostgresHaltStore::Read() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PostgresRows> rows = db_->Query(
      "SELECT halted_by, reason, since_ms FROM borrowing_halt WHERE id = 1");
  if (!rows.ok()) return StoreError(rows.status(), "read");
  return RecordOf(*rows);
}

absl::StatusOr<HaltRecord> PostgresHaltStore::Write(const HaltRecord& record) {
  absl::MutexLock lock(&mu_);
  // The first halt stands; RETURNING gives whichever is in force. (A new
  // row returns itself; a conflict returns nothing, so read it.)
  absl::StatusOr<PostgresRows> wrote = db_->Exec(
      "INSERT INTO borrowing_halt (id, halted_by, reason, since_ms) VALUES "
      "(1, $1, $2, $3::bigint) ON CONFLICT (id) DO NOTHING "
      "RETURNING halted_by, reason, since_ms",
      {record.by, record.reason,
       absl::StrCat(absl::ToUnixMillis(record.since))});
  if (!wrote.ok()) return StoreError(wrote.status(), "write");
  if (wrote->size() == 1) return *RecordOf(*wrote);
  absl::StatusOr<PostgresRows> held = db_->Query(
      "SELECT halted_by, reason, since_ms FROM borrowing_halt WHERE id = 1");
  if (!held.ok()) return StoreError(held.status(), "read");
  std::optional<HaltRecord> in_force = RecordOf(*held);
  return in_force.has_value() ? *in_force : record;  // Resumed meanwhile.
}

absl::Status PostgresHaltStore::Clear() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PostgresRows> cleared =
      db_->Exec("DELETE FROM borrowing_halt WHERE id = 1");
  return cleared.ok() ? absl::OkStatus()
                      : StoreError(cleared.status(), "clear");
}

}  // namespace loan_gateway
