#ifndef LOAN_GATEWAY_SERVER_SERVICE_INTENT_GATE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_INTENT_GATE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "service/operation_call.h"

namespace loan_gateway {

// Idempotency within the process: at most one call works on a request_id;
// a repeat that arrives meanwhile follows it and gets the same answer. The
// journal holds the rest (a request_id settled earlier is answered from it).
class IntentGate {
 public:
  // Makes `call` the one working on its request_id. False when another call
  // already is. Claimed before the intent is committed, so the reconciler
  // never takes a fresh intent for an abandoned one.
  bool Claim(const std::shared_ptr<OperationCall>& call);

  // Lets go of a claim whose intent could not be journaled or was a repeat.
  void Unclaim(const OperationCall& call);

  // Adds `follower` to the call working on `request_id`; false when none is
  // (it was interrupted: the journal says what is known) or when that call
  // is another caller's.
  bool Follow(const std::string& request_id,
              std::shared_ptr<OperationCall> follower);

  // `call` is answered: drops its claim and hands back its followers.
  std::vector<std::shared_ptr<OperationCall>> Release(
      const OperationCall& call);

  // Whether a call of this process works on `request_id`.
  bool Claimed(const std::string& request_id) const;

 private:
  struct Claimant {
    const OperationCall* call;
    std::vector<std::shared_ptr<OperationCall>> followers;
  };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Claimant> claims_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_INTENT_GATE_H_
