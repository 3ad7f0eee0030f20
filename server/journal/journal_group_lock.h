#ifndef LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_GROUP_LOCK_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_GROUP_LOCK_H_

#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace loan_gateway {

// A journal's one lock. A group of writes (BorrowJournal::BeginGroup) holds
// it from its begin to its commit, so that no other thread reads what the
// group has not committed or adds writes to it; the writes of the thread
// that began the group run inside it without locking again.
class ABSL_LOCKABLE JournalGroupLock {
 public:
  // Locks and makes this thread the group's.
  void BeginGroup() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.Lock();
    group_thread_.store(std::this_thread::get_id());
  }
  // Ends the group (committed, rolled back or never begun) and unlocks.
  void EndGroup() ABSL_UNLOCK_FUNCTION() {
    group_thread_.store(std::thread::id());
    mu_.Unlock();
  }
  bool InGroup() const {
    return group_thread_.load() == std::this_thread::get_id();
  }

  // Holds the lock for one call, unless this thread's group already does.
  class ABSL_SCOPED_LOCKABLE Scoped {
   public:
    explicit Scoped(JournalGroupLock* lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
        : lock_(lock), held_(!lock->InGroup()) {
      if (held_) lock_->mu_.Lock();
    }
    ~Scoped() ABSL_UNLOCK_FUNCTION() {
      if (held_) lock_->mu_.Unlock();
    }
    Scoped(const Scoped&) = delete;
    Scoped& operator=(const Scoped&) = delete;

   private:
    JournalGroupLock* const lock_;
    const bool held_;
  };

 private:
  absl::Mutex mu_;
  // The thread whose group holds mu_ (none: a default id).
  std::atomic<std::thread::id> group_thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_GROUP_LOCK_H_
