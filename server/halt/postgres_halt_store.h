#ifndef LOAN_GATEWAY_SERVER_HALT_POSTGRES_HALT_STORE_H_
#define LOAN_GATEWAY_SERVER_HALT_POSTGRES_HALT_STORE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "halt/shared_halt_store.h"

namespace loan_gateway {

class PostgresConnection;

// The kill switch as one row of the journal's database (--journal_url), on
// a session of its own (a halt is never queued behind journal writes).
class PostgresHaltStore final : public SharedHaltStore {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresHaltStore>> Open(
      const std::string& url, const std::string& password_file);
  ~PostgresHaltStore() override;

  absl::StatusOr<std::optional<HaltRecord>> Read() override;
  absl::StatusOr<HaltRecord> Write(const HaltRecord& record) override;
  absl::Status Clear() override;

 private:
  explicit PostgresHaltStore(std::unique_ptr<PostgresConnection> db);

  absl::Mutex mu_;
  std::unique_ptr<PostgresConnection> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_HALT_POSTGRES_HALT_STORE_H_
