// The WAL write-combining VFS against a real file: what SQLite commits is in
// the file for any other reader, what it has written it reads back, the WAL
// restarts and checkpoints as usual, and a commit's frames reach the file as
// one write.
#include "journal/wal_write_combining_vfs.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

// Write system calls this process has made (/proc/self/io's syscw).
int64_t WriteCalls() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value) {
    if (key == "syscw:") return value;
  }
  return -1;
}

class WalWriteCombiningVfsTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat(
                 "wal_vfs_test_", getpid(), "_",
                 testing::UnitTest::GetInstance()->current_test_info()->name(),
                 ".db"))
                .string();
    ASSERT_NE(WalWriteCombiningVfs(), nullptr);
    db_ = OpenDb(WalWriteCombiningVfs());
    Exec(db_, "PRAGMA journal_mode=WAL");
    Exec(db_, "PRAGMA synchronous=FULL");
    Exec(db_, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  }
  void TearDown() override {
    sqlite3_close(db_);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_ + suffix);
    }
  }

  sqlite3* OpenDb(const char* vfs) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
              SQLITE_OK);
    return db;
  }
  static void Exec(sqlite3* db, const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error),
              SQLITE_OK)
        << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }
  static int64_t Number(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return value;
  }
  static std::string Text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return value;
  }
  // Inserts rows [from, to) in one transaction, each value `width` bytes.
  void Insert(int from, int to, int width = 300) {
    Exec(db_, "BEGIN");
    for (int k = from; k < to; ++k) {
      Exec(db_, absl::StrCat("INSERT INTO t VALUES (", k, ", '",
                             std::string(width, 'a' + k % 26), "')"));
    }
    Exec(db_, "COMMIT");
  }
  // What another connection, through the default VFS, reads from the files.
  int64_t RowsAnotherReaderSees() {
    sqlite3* other = OpenDb(nullptr);
    const int64_t rows = Number(other, "SELECT count(*) FROM t");
    sqlite3_close(other);
    return rows;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

TEST_F(WalWriteCombiningVfsTest, EachCommitIsInTheFileForAnotherReader) {
  for (int round = 0; round < 20; ++round) {
    Insert(round * 10, round * 10 + 10);
    EXPECT_EQ(RowsAnotherReaderSees(), round * 10 + 10) << round;
  }
  EXPECT_EQ(Text(db_, "PRAGMA integrity_check"), "ok");
}

// Without a sync at each commit, SQLite publishes a commit's frames to other
// connections (in the wal-index) right after writing them: they must be in
// the file by then.
TEST_F(WalWriteCombiningVfsTest, ACommitIsInTheFileWithoutASyncToo) {
  Exec(db_, "PRAGMA synchronous=NORMAL");
  for (int round = 0; round < 20; ++round) {
    Insert(round * 10, round * 10 + 10);
    EXPECT_EQ(RowsAnotherReaderSees(), round * 10 + 10) << round;
  }
  EXPECT_EQ(Text(db_, "PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteCombiningVfsTest, ReadsBackWhatItSpilledBeforeTheCommit) {
  // A page cache of a few pages makes SQLite write frames to the WAL in the
  // middle of the transaction and read them back from there.
  Exec(db_, "PRAGMA cache_size=4");
  Insert(0, 3000, 500);
  EXPECT_EQ(Number(db_, "SELECT count(*) FROM t"), 3000);
  EXPECT_EQ(Number(db_, "SELECT sum(length(v)) FROM t"), 3000 * 500);
  EXPECT_EQ(RowsAnotherReaderSees(), 3000);
  EXPECT_EQ(Text(db_, "PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteCombiningVfsTest, TheWalCheckpointsAndRestartsAtItsTop) {
  Insert(0, 200);
  EXPECT_EQ(Number(db_, "PRAGMA wal_checkpoint(TRUNCATE)"), 0) << "not busy";
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), 0u);
  // The next frames go to the top of the WAL again, then on from there.
  Insert(200, 400);
  Insert(400, 600);
  EXPECT_EQ(RowsAnotherReaderSees(), 600);
  sqlite3_close(db_);
  db_ = OpenDb(WalWriteCombiningVfs());
  EXPECT_EQ(Number(db_, "SELECT count(*) FROM t"), 600) << "after a reopen";
  EXPECT_EQ(Text(db_, "PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteCombiningVfsTest, ACommitsFramesReachTheFileAsOneWrite) {
  Insert(0, 10);  // The WAL exists and has its header.
  const int64_t before = WriteCalls();
  ASSERT_GE(before, 0) << "no /proc/self/io";
  Insert(10, 60);  // ~4 table pages: 8 or more writes through the default VFS.
  const int64_t writes = WriteCalls() - before;
  EXPECT_LE(writes, 2) << "one for the frames (and SQLite's own, if any)";
  EXPECT_EQ(RowsAnotherReaderSees(), 60);
}

}  // namespace
}  // namespace loan_gateway
