#include "runtime/runtime_tuning.h"

#include <malloc.h>

#include "absl/synchronization/mutex.h"

namespace loan_gateway {

bool TuneRuntime() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return mallopt(M_TRIM_THRESHOLD, static_cast<int>(kHeapTrimThresholdBytes)) ==
         1;
}

}  // namespace loan_gateway
