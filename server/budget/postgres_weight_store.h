#ifndef LOAN_GATEWAY_SERVER_BUDGET_POSTGRES_WEIGHT_STORE_H_
#define LOAN_GATEWAY_SERVER_BUDGET_POSTGRES_WEIGHT_STORE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "budget/shared_weight_store.h"

namespace loan_gateway {

class PostgresConnection;

// The UID weight count as a row per minute of the journal's database
// (--journal_url), on a session of its own: one conditional UPDATE decides a
// reservation for every gateway at once (refused: nothing is sent).
class PostgresWeightStore final : public SharedWeightStore {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresWeightStore>> Open(
      const std::string& url, const std::string& password_file);
  ~PostgresWeightStore() override;

  absl::StatusOr<Count> Add(int64_t minute, int64_t weight, int64_t observed,
                            int64_t limit) override;

 private:
  explicit PostgresWeightStore(std::unique_ptr<PostgresConnection> db);

  absl::Mutex mu_;
  std::unique_ptr<PostgresConnection> db_ ABSL_GUARDED_BY(mu_);
  int64_t purged_before_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_BUDGET_POSTGRES_WEIGHT_STORE_H_
