#include "audit/audit_log.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "audit/audit_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto_time/proto_time.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;
using google::protobuf::util::MessageDifferencer;
using testing::HasSubstr;

constexpr absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

class FixedClock : public Clock {
 public:
  absl::Time Now() const override { return kNow; }
};

AuditRecord Answered(const std::string& request_id) {
  AuditRecord record;
  record.set_kind(audit::v1::CALL_ANSWERED);
  record.set_caller("spiffe://lg/ns/treasury/sa/rebalancer");
  record.set_method("Borrow");
  record.set_decision(audit::v1::DENIED);
  record.set_rule("default: deny");
  record.set_reason("CALLER_NOT_ALLOWED");
  record.set_code("PERMISSION_DENIED");
  record.set_request_id(request_id);
  return record;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream whole;
  whole << in.rdbuf();
  return whole.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// The lines of a log, newlines dropped.
std::vector<std::string> Lines(const std::string& path) {
  return absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
}

AuditRecord RecordOf(const std::string& line) {
  absl::StatusOr<ParsedAuditLine> parsed = ParseAuditLine(line);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->record : AuditRecord();
}

class AuditLogTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string dir = testing::TempDir() + "audit_log_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    path_ = dir_ + "/audit.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<AuditLog> OpenLog(const std::string& path) {
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(path, &clock_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  // A log of the AUDIT_OPENED record and `n` decisions, closed again.
  void WriteLog(int n) {
    std::unique_ptr<AuditLog> log = OpenLog(path_);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(log->AppendAndWait(Answered(absl::StrCat("r", i))).ok());
    }
  }

  FixedClock clock_;
  std::string dir_;
  std::string path_;
};

TEST_F(AuditLogTest, AppendedRecordsVerifyAndTheHeadIsTheLastOne) {
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(log->AppendAndWait(Answered(absl::StrCat("r", i))).ok());
  }
  EXPECT_EQ(log->head().seq, 11u);
  absl::StatusOr<AuditHead> verified = VerifyAuditFile(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 11u);
  EXPECT_EQ(verified->sha256, log->head().sha256);
  EXPECT_TRUE(log->writable());
  EXPECT_EQ(log->write_failures(), 0u);

  const std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), 11u);
  for (const std::string& line : lines) {
    google::protobuf::Struct json;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &json).ok())
        << line;
    EXPECT_FALSE(absl::StrContains(line, "\": ") ||
                 absl::StrContains(line, ", \"") ||
                 absl::StrContains(line, "  "))
        << "pretty-printed: " << line;
  }
  const AuditRecord first = RecordOf(lines[0]);
  EXPECT_EQ(first.seq(), 1u);
  EXPECT_EQ(first.kind(), audit::v1::AUDIT_OPENED);
  EXPECT_EQ(first.detail(), "new chain");
  EXPECT_EQ(first.prev_sha256(), kAuditGenesisSha256);
}

TEST_F(AuditLogTest, ANewFileIsPrivate) {
  ASSERT_NE(OpenLog(path_), nullptr);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(AuditLogTest, ReopeningContinuesTheChain) {
  WriteLog(3);  // Seqs 1..4.
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->AppendAndWait(Answered("after")).ok());
  EXPECT_EQ(log->head().seq, 6u);
  log.reset();

  const std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), 6u);
  const AuditRecord reopened = RecordOf(lines[4]);
  EXPECT_EQ(reopened.seq(), 5u);
  EXPECT_EQ(reopened.kind(), audit::v1::AUDIT_OPENED);
  EXPECT_EQ(reopened.detail(), "continuing after seq 4");
  absl::StatusOr<AuditHead> verified = VerifyAuditFile(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 6u);
}

TEST_F(AuditLogTest, OpenRefusesATamperedFileAndLeavesItAlone) {
  WriteLog(4);
  const std::string tampered =
      absl::StrReplaceAll(ReadFile(path_), {{"\"r1\"", "\"r9\""}});
  WriteFile(path_, tampered);
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(path_, &clock_);
  EXPECT_TRUE(absl::IsFailedPrecondition(log.status())) << log.status();
  EXPECT_THAT(log.status().message(),
              HasSubstr("line 3 (seq 3): its content does not match its "
                        "sha256 — the record was edited"));
  EXPECT_THAT(log.status().message(),
              HasSubstr(absl::StrCat("Move ", path_, " aside")));
  EXPECT_EQ(ReadFile(path_), tampered);
}

TEST_F(AuditLogTest, OpenRefusesATornLastLine) {
  WriteLog(2);
  std::string torn = ReadFile(path_);
  torn.resize(torn.size() - 20);
  WriteFile(path_, torn);
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(path_, &clock_);
  EXPECT_TRUE(absl::IsFailedPrecondition(log.status())) << log.status();
  EXPECT_THAT(log.status().message(), HasSubstr("line 3: torn last line"));
}

TEST_F(AuditLogTest, ConcurrentAppendsAreCommittedInGroupsWithoutGaps) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  const uint64_t batches_before = log->batches();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(log->AppendAndWait(Answered(absl::StrCat(t, "-", i))).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  constexpr uint64_t kRecords = kThreads * kPerThread;
  EXPECT_EQ(log->head().seq, kRecords + 1);
  const uint64_t batches = log->batches() - batches_before;
  EXPECT_LT(batches, kRecords) << "no group commit";
  std::cout << kRecords << " records in " << batches << " batches\n";

  absl::StatusOr<AuditHead> verified = VerifyAuditFile(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, kRecords + 1);
  // Every record once, each thread's in the order it appended them.
  std::set<std::string> ids;
  std::vector<int> next(kThreads, 0);
  const std::vector<std::string> lines = Lines(path_);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string id = RecordOf(lines[i]).request_id();
    ids.insert(id);
    const std::vector<std::string> parts = absl::StrSplit(id, '-');
    ASSERT_EQ(parts.size(), 2u);
    const int thread = std::stoi(parts[0]);
    EXPECT_EQ(std::stoi(parts[1]), next[thread]++);
  }
  EXPECT_EQ(ids.size(), kRecords);
}

TEST_F(AuditLogTest, TheDestructorWritesWhatIsQueued) {
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    log->Append(Answered(absl::StrCat("r", i)), [&ok](absl::Status status) {
      if (status.ok()) ++ok;
    });
  }
  log.reset();
  EXPECT_EQ(ok, 50);
  absl::StatusOr<AuditHead> verified = VerifyAuditFile(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 51u);
}

TEST_F(AuditLogTest, ARecordHasOnlyItsFieldsAndTheChainsOwn) {
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  AuditRecord sent = Answered("r1");
  sent.set_seq(99);  // The log's to set, not the caller's.
  sent.set_prev_sha256("mine");
  ASSERT_TRUE(log->AppendAndWait(sent).ok());
  AuditRecord timed = Answered("r2");
  *timed.mutable_time() = ToProtoTimestamp(kNow - absl::Hours(1));
  ASSERT_TRUE(log->AppendAndWait(timed).ok());

  const std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), 3u);
  AuditRecord expected = Answered("r1");
  expected.set_seq(2);
  *expected.mutable_time() = ToProtoTimestamp(kNow);
  expected.set_prev_sha256(ParseAuditLine(lines[0])->sha256);
  std::string differences;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differ.Compare(expected, RecordOf(lines[1]))) << differences;
  EXPECT_EQ(RecordOf(lines[2]).time().seconds(),
            absl::ToUnixSeconds(kNow - absl::Hours(1)))
      << "a time the caller set is kept";
}

TEST_F(AuditLogTest, ARecordThatCannotBePrintedIsRefusedAloneWithoutAGap) {
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  AuditRecord bad = Answered("bad");
  bad.mutable_time()->set_seconds(int64_t{1} << 40);
  EXPECT_TRUE(absl::IsInvalidArgument(log->AppendAndWait(bad)));
  EXPECT_TRUE(log->writable());
  ASSERT_TRUE(log->AppendAndWait(Answered("good")).ok());
  EXPECT_EQ(log->head().seq, 2u);
  EXPECT_TRUE(VerifyAuditFile(path_).ok());
}

TEST_F(AuditLogTest, ASecondOpenOfTheSameFileIsRefused) {
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  absl::StatusOr<std::unique_ptr<AuditLog>> second =
      AuditLog::Open(path_, &clock_);
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status()));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

TEST_F(AuditLogTest, ADirectoryThatDoesNotExistFailsOpen) {
  const std::string path = dir_ + "/missing/audit.log";
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(path, &clock_);
  EXPECT_TRUE(absl::IsUnavailable(log.status()));
  EXPECT_THAT(log.status().message(), HasSubstr(path));
  EXPECT_THAT(log.status().message(), HasSubstr("No such file or directory"));
}

TEST_F(AuditLogTest, ADeviceThatCannotBeWrittenFailsOpen) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open("/dev/full", &clock_);
  EXPECT_TRUE(absl::IsUnavailable(log.status()));
  EXPECT_THAT(log.status().message(),
              HasSubstr("the audit log /dev/full cannot be written (write: "
                        "No space left on device)"));
}

TEST_F(AuditLogTest, APipeIsWrittenWithoutReadingAndFailsClosedWhenItBreaks) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<std::unique_ptr<AuditLog>> unread =
      AuditLog::Open(fifo, &clock_);
  EXPECT_THAT(unread.status().message(),
              HasSubstr("a pipe that nothing reads"));

  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  std::unique_ptr<AuditLog> log = OpenLog(fifo);
  ASSERT_NE(log, nullptr);
  char buffer[4096];
  const ssize_t n = read(reader, buffer, sizeof buffer);
  ASSERT_GT(n, 0);
  std::istringstream shipped(std::string(buffer, n));
  absl::StatusOr<AuditHead> head = VerifyAuditChain(shipped);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->seq, 1u);

  close(reader);  // The log shipper went away.
  const absl::Status broken = log->AppendAndWait(Answered("r1"));
  EXPECT_TRUE(absl::IsUnavailable(broken)) << broken;
  EXPECT_THAT(broken.message(),
              HasSubstr(absl::StrCat("the audit log ", fifo,
                                     " cannot be written (write: Broken "
                                     "pipe); nothing will be signed")));
  EXPECT_FALSE(log->writable());
  EXPECT_EQ(log->AppendAndWait(Answered("r2")), broken);
  EXPECT_EQ(log->write_failures(), 2u);
  EXPECT_EQ(log->head().seq, 1u);
}

// A file size limit makes a write fail part-way, as a full disk would.
TEST_F(AuditLogTest, AFailedWriteBreaksTheLogForGood) {
  std::unique_ptr<AuditLog> log = OpenLog(path_);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->AppendAndWait(Answered("r1")).ok());
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit tight = saved;
  tight.rlim_cur = std::filesystem::file_size(path_) + 10;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tight), 0);
  const absl::Status failed = log->AppendAndWait(Answered("r2"));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_THAT(failed.message(), HasSubstr("File too large"));

  // The disk takes writes again; the log does not: fsync's errors are not
  // retried, and the file now ends in a torn line.
  EXPECT_EQ(log->AppendAndWait(Answered("r3")), failed);
  EXPECT_FALSE(log->writable());
  EXPECT_EQ(log->write_failures(), 2u);
  EXPECT_EQ(log->head().seq, 2u);
  log.reset();
  absl::StatusOr<std::unique_ptr<AuditLog>> reopened =
      AuditLog::Open(path_, &clock_);
  EXPECT_THAT(reopened.status().message(), HasSubstr("torn last line"));
}

// A database table as the journal's transactions write it: lines appended
// inside a transaction are there only once it commits; outside one, at once.
class TransactionalSink final : public AuditSink {
 public:
  absl::StatusOr<AuditHead> Head() override { return Recover(); }
  bool reads_back() const override { return true; }
  absl::Status Append(const std::vector<ChainedAuditLine>& lines,
                      const std::string&) override {
    for (const ChainedAuditLine& line : lines) {
      (in_transaction ? pending : durable).push_back(line);
    }
    return absl::OkStatus();
  }
  bool recovers() const override { return true; }
  absl::StatusOr<AuditHead> Recover() override {
    if (durable.empty()) {
      return AuditHead{.sha256 = std::string(kAuditGenesisSha256)};
    }
    return AuditHead{.seq = durable.back().seq,
                     .sha256 = durable.back().sha256};
  }
  const std::string& name() const override { return name_; }

  // The transaction ends: its lines stay, or are gone.
  void End(bool commit) {
    if (commit) durable.insert(durable.end(), pending.begin(), pending.end());
    pending.clear();
    in_transaction = false;
  }
  std::string Text() const {
    std::string text;
    for (const ChainedAuditLine& line : durable) text += line.text;
    return text;
  }

  bool in_transaction = false;
  std::vector<ChainedAuditLine> pending;
  std::vector<ChainedAuditLine> durable;

 private:
  const std::string name_ = "table audit_log";
};

// What the journal executor does for a driven log: its group's writes, the
// queued records last, the commit, then the callers.
class DrivenAuditLogTest : public testing::Test {
 protected:
  void SetUp() override {
    auto sink = std::make_unique<TransactionalSink>();
    sink_ = sink.get();
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::OpenDriven(std::move(sink), &clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    log_->SetWaker([this] {
      ++wakes_;
      return !in_group_;
    });
  }
  void Group(bool commit) {
    sink_->in_transaction = true;
    log_->WriteQueued();
    sink_->End(commit);
    log_->Committed(commit ? absl::OkStatus()
                           : absl::UnavailableError("disk I/O error"));
  }
  // Appends, keeping what its caller hears.
  void AppendRecorded(const std::string& id) {
    log_->Append(Answered(id), [this, id](absl::Status s) {
      heard_.push_back(
          absl::StrCat(id, " ", absl::StatusCodeToString(s.code())));
    });
  }

  FixedClock clock_;
  // Before the log: its destructor writes what is left and tells callers.
  std::vector<std::string> heard_;
  TransactionalSink* sink_ = nullptr;
  std::unique_ptr<AuditLog> log_;
  int wakes_ = 0;
  bool in_group_ = false;
};

TEST_F(DrivenAuditLogTest, RecordsAreDurableWithTheDriversCommitNotBefore) {
  // AUDIT_OPENED went in a transaction of its own, before any driver.
  ASSERT_EQ(sink_->durable.size(), 1u);
  AppendRecorded("r1");
  AppendRecorded("r2");
  EXPECT_EQ(wakes_, 1);  // One group asked for, however many records.
  EXPECT_TRUE(heard_.empty());
  sink_->in_transaction = true;
  log_->WriteQueued();
  EXPECT_EQ(sink_->pending.size(), 2u);
  EXPECT_TRUE(heard_.empty());  // Written, not yet committed.
  sink_->End(true);
  log_->Committed(absl::OkStatus());
  EXPECT_EQ(heard_, (std::vector<std::string>{"r1 OK", "r2 OK"}));
  EXPECT_EQ(log_->head().seq, 3u);
  std::istringstream chain(sink_->Text());
  absl::StatusOr<AuditHead> verified = VerifyAuditChain(chain);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 3u);
  EXPECT_EQ(verified->sha256, log_->head().sha256);
  AppendRecorded("r3");
  EXPECT_EQ(wakes_, 2);  // The queue was taken: the next record asks again.
}

TEST_F(DrivenAuditLogTest, AFailedCommitFailsItsRecordsAndTheChainGoesOn) {
  AppendRecorded("r1");
  Group(true);
  AppendRecorded("r2");
  AppendRecorded("r3");
  Group(false);
  EXPECT_EQ(heard_, (std::vector<std::string>{"r1 OK", "r2 UNAVAILABLE",
                                              "r3 UNAVAILABLE"}));
  EXPECT_EQ(log_->write_failures(), 2u);
  EXPECT_EQ(log_->head().seq, 2u);
  EXPECT_TRUE(log_->writable());  // A transaction is all or nothing.
  // The next record follows the last durable one: no gap, no fork.
  AppendRecorded("r4");
  Group(true);
  EXPECT_EQ(heard_.back(), "r4 OK");
  EXPECT_EQ(log_->head().seq, 3u);
  std::istringstream chain(sink_->Text());
  absl::StatusOr<AuditHead> verified = VerifyAuditChain(chain);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 3u);
  EXPECT_EQ(
      RecordOf(std::string(absl::StripSuffix(sink_->durable.back().text, "\n")))
          .request_id(),
      "r4");
}

TEST_F(DrivenAuditLogTest, InsideAGroupTheRecordGoesWithItsWrites) {
  in_group_ = true;  // The waker says the caller's own group takes it.
  AppendRecorded("r1");
  AppendRecorded("r2");
  EXPECT_EQ(wakes_, 2);  // Not remembered as asked: each may ask again.
  Group(true);
  EXPECT_EQ(heard_, (std::vector<std::string>{"r1 OK", "r2 OK"}));
}

TEST_F(DrivenAuditLogTest, WithoutADriverTheDestructorWritesWhatIsQueued) {
  log_->SetWaker(nullptr);
  size_t durable_then = 0;
  log_->Append(Answered("r1"), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    durable_then = sink_->durable.size();  // The sink lives until after.
  });
  EXPECT_EQ(wakes_, 0);
  EXPECT_EQ(durable_then, 0u);
  log_.reset();
  EXPECT_EQ(durable_then, 2u);
}

TEST(DrivenAuditLogOpenTest, RefusesASinkThatCannotFollowATransaction) {
  FixedClock clock;
  class FileLike final : public AuditSink {
   public:
    absl::StatusOr<AuditHead> Head() override { return AuditHead{}; }
    bool reads_back() const override { return true; }
    absl::Status Append(const std::vector<ChainedAuditLine>&,
                        const std::string&) override {
      return absl::OkStatus();
    }
    const std::string& name() const override { return name_; }

   private:
    const std::string name_ = "file";
  };
  EXPECT_TRUE(absl::IsInvalidArgument(
      AuditLog::OpenDriven(std::make_unique<FileLike>(), &clock).status()));
}

}  // namespace
}  // namespace loan_gateway
