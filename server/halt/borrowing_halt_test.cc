#include "halt/borrowing_halt.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "errors/error_details.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

std::string TempPath(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/", name, "-", ::getpid());
}

std::string ReasonOf(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return errors::GetDetail(status, &info) ? info.reason() : "";
}

TEST(BorrowingHaltTest, NotHaltedWithoutTheFile) {
  BorrowingHalt halt(TempPath("no-halt"));
  EXPECT_FALSE(halt.Current().has_value());
  EXPECT_TRUE(halt.Check().ok());
}

TEST(BorrowingHaltTest, HaltWritesTheFileAndAnotherProcessSeesIt) {
  const std::string path = TempPath("halt");
  BorrowingHalt halt(path);
  const absl::Time at = absl::FromUnixSeconds(1700000000);
  HaltRecord record = halt.Halt("spiffe://lg/ops", "incident 4711", at);
  EXPECT_TRUE(record.persisted);
  const absl::Status refused = halt.Check();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(refused), "BORROWING_HALTED");
  EXPECT_NE(refused.message().find("incident 4711"), std::string::npos);

  // A restart (a new switch on the same file) is still halted, by whom and
  // since when it was.
  BorrowingHalt restarted(path);
  std::optional<HaltRecord> current = restarted.Current();
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->by, "spiffe://lg/ops");
  EXPECT_EQ(current->reason, "incident 4711");
  EXPECT_EQ(current->since, at);

  ASSERT_TRUE(restarted.Resume().ok());
  EXPECT_FALSE(restarted.Current().has_value());
  EXPECT_FALSE(halt.Current().has_value());
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(BorrowingHaltTest, AnOperatorsEmptyFileHalts) {
  const std::string path = TempPath("touched");
  std::ofstream(path).close();
  BorrowingHalt halt(path);
  std::optional<HaltRecord> current = halt.Current();
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->by, "halt file " + path);
  std::remove(path.c_str());
  EXPECT_FALSE(halt.Current().has_value());
}

TEST(BorrowingHaltTest, AHaltAlreadyInForceIsKept) {
  BorrowingHalt halt(TempPath("twice"));
  halt.Halt("first", "one", absl::Now());
  EXPECT_EQ(halt.Halt("second", "two", absl::Now()).by, "first");
  ASSERT_TRUE(halt.Resume().ok());
}

TEST(BorrowingHaltTest, AnUnwritableFileStillHaltsThisProcess) {
  BorrowingHalt halt("/nonexistent-dir/borrowing-halted");
  HaltRecord record = halt.Halt("ops", "disk gone", absl::Now());
  EXPECT_FALSE(record.persisted);
  EXPECT_FALSE(halt.Check().ok());
  ASSERT_TRUE(halt.Resume().ok());
  EXPECT_TRUE(halt.Check().ok());
}

// Once Halt has returned, no send runs: every send either ran before the
// halt took effect or was refused.
TEST(BorrowingHaltTest, NothingRunsAfterHaltReturned) {
  BorrowingHalt halt(TempPath("race"));
  std::atomic<bool> halted{false};
  std::atomic<int> after_halt{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i) {
    senders.emplace_back([&] {
      while (!stop) {
        (void)halt.RunUnlessHalted([&] {
          if (halted) ++after_halt;
        });
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(20));
  halt.Halt("ops", "race", absl::Now());
  halted = true;
  absl::SleepFor(absl::Milliseconds(20));
  stop = true;
  for (std::thread& t : senders) t.join();
  EXPECT_EQ(after_halt, 0);
  ASSERT_TRUE(halt.Resume().ok());
}

// The journal's database, as the gateways sharing it see it.
class SharedStoreForTest : public SharedHaltStore {
 public:
  absl::StatusOr<std::optional<HaltRecord>> Read() override {
    absl::MutexLock lock(&mu);
    ++reads;
    if (!fail.ok()) return fail;
    return row;
  }
  absl::StatusOr<HaltRecord> Write(const HaltRecord& record) override {
    absl::MutexLock lock(&mu);
    if (!fail.ok()) return fail;
    if (!row.has_value()) row = record;
    return *row;
  }
  absl::Status Clear() override {
    absl::MutexLock lock(&mu);
    if (!fail.ok()) return fail;
    row.reset();
    return absl::OkStatus();
  }
  absl::Mutex mu;
  std::optional<HaltRecord> row;
  absl::Status fail;
  int reads = 0;
};

// A halt through one gateway of a shared journal stops the others: each
// sends only after reading the store, and a lift through any lifts all.
TEST(BorrowingHaltTest, AHaltThroughOneGatewayStopsEveryGatewayOfTheJournal) {
  SharedStoreForTest store;
  BorrowingHalt here("", &store);
  BorrowingHalt there("", &store);
  const HaltRecord record =
      here.Halt("spiffe://lg/ops", "incident 4711", absl::Now());
  EXPECT_TRUE(record.persisted);
  bool sent = false;
  const absl::Status refused = there.RunUnlessHalted([&] { sent = true; });
  EXPECT_FALSE(sent);
  EXPECT_EQ(ReasonOf(refused), "BORROWING_HALTED");
  EXPECT_TRUE(absl::StrContains(refused.message(), "incident 4711"));
  EXPECT_EQ(there.Halt("spiffe://lg/other", "later", absl::Now()).by,
            "spiffe://lg/ops")
      << "the first halt stands";
  ASSERT_TRUE(there.Resume().ok());
  EXPECT_TRUE(here.RunUnlessHalted([&] { sent = true; }).ok());
  EXPECT_TRUE(sent);
}

// With a shared store the halt is the store's: no local file that would keep
// this gateway halted after a resume through another.
TEST(BorrowingHaltTest, ASharedHaltLeavesNoLocalFileBehind) {
  SharedStoreForTest store;
  const std::string path = TempPath("shared-halt");
  BorrowingHalt here(path, &store);
  BorrowingHalt there(TempPath("shared-halt-there"), &store);
  EXPECT_TRUE(here.Halt("ops", "x", absl::Now()).persisted);
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE(there.Resume().ok());
  bool sent = false;
  EXPECT_TRUE(here.RunUnlessHalted([&] { sent = true; }).ok());
  EXPECT_TRUE(sent);
}

// Admission may use the last second's reading; a send never does.
TEST(BorrowingHaltTest, ASendReadsTheSharedHaltEveryTime) {
  SharedStoreForTest store;
  BorrowingHalt halt("", &store);
  ASSERT_TRUE(halt.Check().ok());
  const int after_first = store.reads;
  ASSERT_TRUE(halt.Check().ok());
  EXPECT_EQ(store.reads, after_first) << "admission: cached for a second";
  {
    absl::MutexLock lock(&store.mu);
    store.row = HaltRecord{.by = "elsewhere", .since = absl::Now()};
  }
  bool sent = false;
  EXPECT_FALSE(halt.RunUnlessHalted([&] { sent = true; }).ok());
  EXPECT_FALSE(sent);
}

// When the store cannot be read nothing is sent; when a halt cannot be
// written it still holds here; when it cannot be cleared it stays.
TEST(BorrowingHaltTest, AnUnreadableSharedHaltIsAHalt) {
  SharedStoreForTest store;
  BorrowingHalt halt("", &store);
  store.fail = absl::UnavailableError("database down");
  bool sent = false;
  const absl::Status refused = halt.RunUnlessHalted([&] { sent = true; });
  EXPECT_FALSE(sent);
  EXPECT_TRUE(absl::StrContains(refused.message(), "database down"));
  const HaltRecord unshared = halt.Halt("ops", "x", absl::Now());
  EXPECT_FALSE(unshared.persisted);
  store.fail = absl::OkStatus();
  EXPECT_FALSE(halt.Check().ok()) << "halted in this process";
  ASSERT_TRUE(halt.Resume().ok());
  ASSERT_FALSE(halt.Halt("ops", "y", absl::Now()).by.empty());
  store.fail = absl::UnavailableError("database down");
  EXPECT_EQ(halt.Resume().code(), absl::StatusCode::kFailedPrecondition);
  store.fail = absl::OkStatus();
  EXPECT_FALSE(halt.Check().ok()) << "still halted";
}

}  // namespace
}  // namespace loan_gateway
