#include "budget/postgres_weight_store.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "postgres/postgres_connection.h"

namespace loan_gateway {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS uid_weight (
  minute BIGINT PRIMARY KEY,
  used   BIGINT NOT NULL
);
)sql";

// Minutes kept: enough for an operator to read the last few.
constexpr int64_t kKeptMinutes = 10;

absl::Status StoreError(const absl::Status& status, absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("shared weight count ", what, ": ", status.message()));
}

int64_t ToInt(const std::optional<std::string>& text) {
  return text.has_value() ? std::atoll(text->c_str()) : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresWeightStore>> PostgresWeightStore::Open(
    const std::string& url, const std::string& password_file) {
  // A count lost with a database crash is a minute's under-count at worst
  // (Binance's own count, reported on every answer, corrects it): not worth
  // an fsync per borrow on the journal's thread.
  absl::StatusOr<std::unique_ptr<PostgresConnection>> db =
      PostgresConnection::Open(
          url, {.password_file = password_file,
                .on_connect = [](PostgresConnection& session) {
                  return session.ExecScript("SET synchronous_commit = off;");
                }});
  if (!db.ok()) return StoreError(db.status(), "open");
  // ExecSchema commits with synchronous_commit on: the table outlives a
  // crash even though the counts need not.
  if (absl::Status made = (*db)->ExecSchema(kSchema); !made.ok()) {
    return StoreError(made, "schema");
  }
  return std::unique_ptr<PostgresWeightStore>(
      new PostgresWeightStore(*std::move(db)));
}

PostgresWeightStore::PostgresWeightStore(std::unique_ptr<PostgresConnection> db)
    : db_(std::move(db)) {}

PostgresWeightStore::~PostgresWeightStore() = default;

absl::StatusOr<SharedWeightStore::Count> PostgresWeightStore::Add(
    int64_t minute, int64_t weight, int64_t observed, int64_t limit) {
  absl::MutexLock lock(&mu_);
  const std::string m = absl::StrCat(minute);
  // One statement: the row is locked while its condition is checked, so two
  // gateways cannot both take the last room.
  // Repeated on a new session when the old one turned out lost: an add that
  // had counted already counts twice, on the safe side.
  absl::StatusOr<PostgresRows> took = db_->ExecRepeatable(
      "INSERT INTO uid_weight (minute, used) SELECT $1::bigint, GREATEST(0, "
      "$2::bigint + $3::bigint) WHERE $2::bigint + $3::bigint <= $4::bigint "
      "ON CONFLICT (minute) DO UPDATE SET used = GREATEST(0, "
      "GREATEST(uid_weight.used, $2::bigint) + $3::bigint) WHERE "
      "GREATEST(uid_weight.used, $2::bigint) + $3::bigint <= $4::bigint "
      "RETURNING used",
      {m, absl::StrCat(observed), absl::StrCat(weight), absl::StrCat(limit)});
  if (!took.ok()) return StoreError(took.status(), "write");
  Count count;
  if (took->size() == 1) {
    count = {.used = ToInt(took->At(0, 0)), .taken = true};
  } else {
    absl::StatusOr<PostgresRows> now = db_->Query(
        "SELECT used FROM uid_weight WHERE minute = $1::bigint", {m});
    if (!now.ok()) return StoreError(now.status(), "read");
    count.used = now->size() == 1 ? ToInt(now->At(0, 0)) : observed;
  }
  if (purged_before_ < minute - kKeptMinutes) {
    purged_before_ = minute - kKeptMinutes;
    db_->Exec("DELETE FROM uid_weight WHERE minute < $1::bigint",
              {absl::StrCat(purged_before_)})
        .IgnoreError();  // Old rows cost nothing but space; next minute.
  }
  return count;
}

}  // namespace loan_gateway
