#include "journal/wal_flusher.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

class WalFlusherTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat(
                 "wal_flusher_test_", getpid(), "_",
                 testing::UnitTest::GetInstance()->current_test_info()->name(),
                 "-wal"))
                .string();
    std::ofstream(path_) << "frames";
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::unique_ptr<WalFlusher> Open(WalFlusher::SyncFn sync) {
    absl::StatusOr<std::unique_ptr<WalFlusher>> flusher =
        WalFlusher::Open(path_, std::move(sync));
    EXPECT_TRUE(flusher.ok()) << flusher.status();
    return flusher.ok() ? *std::move(flusher) : nullptr;
  }

  std::string path_;
};

TEST_F(WalFlusherTest, OneSyncCoversEveryCommitMadeBeforeIt) {
  std::atomic<int> syncs{0};
  std::unique_ptr<WalFlusher> flusher = Open([&](int fd) {
    ++syncs;
    return ::fdatasync(fd);
  });
  ASSERT_NE(flusher, nullptr);
  EXPECT_TRUE(flusher->AwaitDurable(0).ok());  // Nothing committed yet.
  EXPECT_EQ(syncs.load(), 0);
  flusher->Committed();
  flusher->Committed();
  const uint64_t third = flusher->Committed();
  EXPECT_EQ(third, 3u);
  EXPECT_TRUE(flusher->AwaitDurable(third).ok());
  EXPECT_EQ(syncs.load(), 1);
  EXPECT_TRUE(flusher->AwaitDurable(2).ok());  // Covered already.
  EXPECT_EQ(syncs.load(), 1);
  flusher->Committed();
  EXPECT_TRUE(flusher->FlushCommitted().ok());
  EXPECT_EQ(syncs.load(), 2);
  EXPECT_EQ(flusher->flushes(), 2u);
}

// A commit made while a sync is under way is not covered by it: its waiter
// waits for that sync, then makes one more, which every such waiter shares.
TEST_F(WalFlusherTest, ACommitDuringASyncWaitsForTheNextOneWhichIsShared) {
  absl::Notification in_first_sync, release_first_sync;
  std::atomic<int> syncs{0};
  std::unique_ptr<WalFlusher> flusher = Open([&](int fd) {
    if (++syncs == 1) {
      in_first_sync.Notify();
      release_first_sync.WaitForNotification();
    }
    return ::fdatasync(fd);
  });
  ASSERT_NE(flusher, nullptr);
  const uint64_t first = flusher->Committed();
  std::thread first_waiter(
      [&] { EXPECT_TRUE(flusher->AwaitDurable(first).ok()); });
  in_first_sync.WaitForNotification();
  const uint64_t second = flusher->Committed();
  const uint64_t third = flusher->Committed();
  std::thread second_waiter(
      [&] { EXPECT_TRUE(flusher->AwaitDurable(second).ok()); });
  std::thread third_waiter(
      [&] { EXPECT_TRUE(flusher->AwaitDurable(third).ok()); });
  absl::SleepFor(absl::Milliseconds(50));  // Both waiting on the first sync.
  EXPECT_EQ(syncs.load(), 1);
  release_first_sync.Notify();
  first_waiter.join();
  second_waiter.join();
  third_waiter.join();
  EXPECT_EQ(syncs.load(), 2);
}

TEST_F(WalFlusherTest, AFailedSyncFailsThatWaitAndEveryLaterOne) {
  std::atomic<bool> fail{true};
  std::unique_ptr<WalFlusher> flusher = Open([&](int fd) {
    if (fail.load()) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  });
  ASSERT_NE(flusher, nullptr);
  absl::Status failed = flusher->AwaitDurable(flusher->Committed());
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_TRUE(absl::StrContains(failed.message(), "fdatasync")) << failed;
  EXPECT_TRUE(absl::StrContains(failed.message(), path_)) << failed;
  // The kernel may have dropped the pages: a later sync that succeeds
  // proves nothing about them.
  fail = false;
  EXPECT_EQ(flusher->AwaitDurable(flusher->Committed()), failed);
  EXPECT_EQ(flusher->failure(), failed);
}

TEST_F(WalFlusherTest, ALogReplacedAtItsPathIsOpenedAndSyncedToo) {
  std::set<ino_t> synced;
  std::unique_ptr<WalFlusher> flusher = Open([&](int fd) {
    struct stat st {};
    ::fstat(fd, &st);
    synced.insert(st.st_ino);
    return ::fdatasync(fd);
  });
  ASSERT_NE(flusher, nullptr);
  ASSERT_TRUE(flusher->AwaitDurable(flusher->Committed()).ok());
  EXPECT_EQ(synced.size(), 1u);
  const std::string replacement = path_ + ".new";
  std::ofstream(replacement) << "other frames";
  std::filesystem::rename(replacement, path_);
  ASSERT_TRUE(flusher->AwaitDurable(flusher->Committed()).ok());
  struct stat now {};
  ASSERT_EQ(::stat(path_.c_str(), &now), 0);
  EXPECT_EQ(synced.size(), 2u);
  EXPECT_EQ(synced.count(now.st_ino), 1u);
}

TEST_F(WalFlusherTest, AMissingLogFailsToOpen) {
  std::filesystem::remove(path_);
  absl::StatusOr<std::unique_ptr<WalFlusher>> flusher = WalFlusher::Open(path_);
  EXPECT_TRUE(absl::IsUnavailable(flusher.status())) << flusher.status();
}

}  // namespace
}  // namespace loan_gateway
