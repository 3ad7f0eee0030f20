// One durable commit of one row, as the journal makes them (SQLite, WAL,
// synchronous=FULL): the floor's "D". N commits one after another in a new
// file at --path; prints one line of JSON with p50 and p99 per commit.
//   sqlite_commit --path DIR/floor.db [--commits N]
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int Run(int argc, char** argv) {
  CLI::App app{"sqlite_commit: durable single-row commits"};
  std::string path;
  int commits = 1000;
  app.add_option("--path", path, "a new database file")->required();
  app.add_option("--commits", commits);
  CLI11_PARSE(app, argc, argv);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite_commit: cannot open %s\n", path.c_str());
    return 1;
  }
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, "
               "caller TEXT, group_id INTEGER, amount TEXT, created_ms "
               "INTEGER, state TEXT);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO rows VALUES (?, 'spiffe://lg/ns/bench/sa/"
                     "load', 1001, '1.5', ?, 'PENDING')",
                     -1, &insert, nullptr);
  std::vector<double> ms;
  for (int i = 0; i < commits; ++i) {
    const std::string id = "075f993d-d0a2-44a4-a815-" + std::to_string(i);
    const auto started = std::chrono::steady_clock::now();
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 2, i);
    if (sqlite3_step(insert) != SQLITE_DONE ||
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "sqlite_commit: %s\n", sqlite3_errmsg(db));
      return 1;
    }
    sqlite3_reset(insert);
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - started)
                     .count());
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[static_cast<size_t>(p * (ms.size() - 1))];
  };
  std::printf("{\"commits\":%d,\"p50_ms\":%.4f,\"p99_ms\":%.4f}\n", commits,
              pct(0.5), pct(0.99));
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sqlite_commit: %s\n", e.what());
    return 1;
  }
}
