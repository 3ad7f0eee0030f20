#ifndef LOAN_GATEWAY_SERVER_JOURNAL_WAL_FLUSHER_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_WAL_FLUSHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace loan_gateway {

// Makes an SQLite journal's commits durable apart from the commits. The
// connection runs at synchronous=NORMAL: a commit writes its frames to the
// write-ahead log without syncing it, and this fdatasyncs the log. In WAL
// mode that is exactly what synchronous=FULL adds to each commit, moved off
// the committing thread: the journal thread runs its next group while the
// previous groups' flush is under way, and one fdatasync covers every
// commit made before it. The log is append-only until a checkpoint (which
// syncs it first), so a commit that is durable makes every earlier one
// durable too.
//
// Commits are counted (Committed) and AwaitDurable(n) returns once commit
// n is on disk: it flushes itself when no flush is under way, or waits for
// the one that is and then for a next one if that began too early. A failed
// fdatasync is for good (the kernel may have dropped the pages it could not
// write): every later wait fails with it, so nothing more is signed or
// answered from this journal.
class WalFlusher {
 public:
  // How the log is synced (::fdatasync); tests put faults in here.
  using SyncFn = std::function<int(int fd)>;

  // Opens `wal_path` (it must exist) for syncing.
  static absl::StatusOr<std::unique_ptr<WalFlusher>> Open(
      std::string wal_path, SyncFn sync = nullptr);
  ~WalFlusher();
  WalFlusher(const WalFlusher&) = delete;
  WalFlusher& operator=(const WalFlusher&) = delete;

  // Counts a commit just made (its frames are in the log); its number.
  uint64_t Committed();
  // The last commit counted.
  uint64_t last_committed() const;
  // Returns once commit `n`, and every one before it, is durable.
  absl::Status AwaitDurable(uint64_t n);
  // Every commit counted so far.
  absl::Status FlushCommitted() { return AwaitDurable(last_committed()); }
  // fdatasyncs made (each covering one commit or many).
  uint64_t flushes() const;
  // OK, or the failed flush that stopped the journal's writes for good.
  absl::Status failure() const;

 private:
  WalFlusher(std::string wal_path, int fd, SyncFn sync);
  // fdatasync of the log; when the file at the path was replaced (the log
  // deleted and made again), the new one is opened and synced too.
  absl::Status Sync();
  absl::Status SyncOnce();

  const std::string path_;
  const SyncFn sync_;
  int fd_;  // Only the thread that set flushing_ uses it.
  mutable absl::Mutex mu_;
  uint64_t committed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t flushes_ ABSL_GUARDED_BY(mu_) = 0;
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_WAL_FLUSHER_H_
