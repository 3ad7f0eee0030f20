#ifndef LOAN_GATEWAY_TESTS_POSTGRES_THROWAWAY_POSTGRES_H_
#define LOAN_GATEWAY_TESTS_POSTGRES_THROWAWAY_POSTGRES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "child_process.h"

namespace loan_gateway::testing {

// A real PostgreSQL server (Debian's `postgresql` package) in a temporary
// directory, on loopback, for tests: a cluster of its own made by initdb,
// started and stopped by the test, removed at the end. Run as root (CI), the
// server runs as the `postgres` user the package made, because initdb and
// postgres refuse root. Connections use password authentication over TCP so
// the journal's URL is the same as in production.
class ThrowawayPostgres {
 public:
  // initdb, start, wait until it accepts connections, create the database.
  static absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> Start();
  // One server for the whole test binary, started on first use and gone at
  // exit (each test makes a database of its own on it: CreateDatabase). A
  // server that cannot start aborts the binary, saying why.
  static ThrowawayPostgres& Shared();
  // The password of every URL it gives (a test hands the gateway a URL
  // without it, and the password in a file, as in production).
  static const char* password();
  ~ThrowawayPostgres();  // Fast shutdown, then the directory is removed.
  ThrowawayPostgres(const ThrowawayPostgres&) = delete;
  ThrowawayPostgres& operator=(const ThrowawayPostgres&) = delete;

  // postgres://USER:PASSWORD@127.0.0.1:PORT/DB, what --journal_url takes.
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // Creates another database on the server (one per test, say) and returns
  // its URL.
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);

  // Stops the server: SIGINT (fast shutdown: sessions are ended, committed
  // data is kept) or SIGKILL (a crash; recovery replays the WAL at Restart).
  absl::Status Stop(int signal);
  // Starts it again on the same port and data directory.
  absl::Status Restart();

 private:
  ThrowawayPostgres() = default;
  absl::Status Launch();
  absl::Status WaitUntilReady();

  std::string dir_;
  std::string bin_dir_;
  std::string run_as_;  // Empty when not root.
  int port_ = 0;
  std::string url_;
  std::unique_ptr<ChildProcess> server_;
};

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_POSTGRES_THROWAWAY_POSTGRES_H_
