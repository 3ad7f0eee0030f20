#include "throwaway_postgres.h"

#include <glob.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace loan_gateway::testing {
namespace {

constexpr char kUser[] = "loan_gateway";
constexpr char kPassword[] = "throwaway-test-password";
constexpr char kDatabase[] = "loan_gateway";

// The newest server Debian installed: /usr/lib/postgresql/<major>/bin.
absl::StatusOr<std::string> ServerBinDir() {
  glob_t found{};
  std::string newest;
  if (glob("/usr/lib/postgresql/*/bin/postgres", 0, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) newest = found.gl_pathv[i];
  }
  globfree(&found);
  if (newest.empty()) {
    return absl::FailedPreconditionError(
        "no PostgreSQL server in /usr/lib/postgresql (scripts/install-deps "
        "installs Debian's postgresql)");
  }
  return std::filesystem::path(newest).parent_path().string();
}

// A port nobody listens on now (the server binds it a moment later).
int UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool bound =
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  return bound ? ntohs(addr.sin_port) : 0;
}

// initdb and postgres refuse to run as root: as root, run them as the user
// Debian's package made.
std::vector<std::string> AsServerUser(const std::string& run_as,
                                      std::vector<std::string> argv) {
  if (run_as.empty()) return argv;
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", "--reuid=" + run_as,
                                      "--regid=" + run_as, "--init-groups",
                                      "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

absl::Status Exec(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  const std::string error = PQresultErrorMessage(result);
  PQclear(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return absl::OkStatus();
  }
  return absl::InternalError(absl::StrCat(sql, ": ", error));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> ThrowawayPostgres::Start() {
  absl::StatusOr<std::string> bin_dir = ServerBinDir();
  if (!bin_dir.ok()) return bin_dir.status();
  std::unique_ptr<ThrowawayPostgres> pg(new ThrowawayPostgres());
  pg->bin_dir_ = *bin_dir;
  char pattern[] = "/tmp/lg-postgres-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp");
  pg->dir_ = pattern;
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      return absl::FailedPreconditionError("running as root, no user postgres");
    }
    pg->run_as_ = "postgres";
    if (chown(pattern, user->pw_uid, user->pw_gid) != 0) {
      return absl::InternalError("chown of the cluster's directory");
    }
  }
  const std::string password_file = pg->dir_ + "/password";
  std::ofstream(password_file) << kPassword << "\n";
  if (!pg->run_as_.empty()) {
    const passwd* user = getpwnam(pg->run_as_.c_str());
    if (chown(password_file.c_str(), user->pw_uid, user->pw_gid) != 0) {
      return absl::InternalError("chown of the password file");
    }
  }
  const CommandResult init = RunCommand(AsServerUser(
      pg->run_as_,
      {pg->bin_dir_ + "/initdb", "--pgdata=" + pg->dir_ + "/data",
       "--username=" + std::string(kUser), "--pwfile=" + password_file,
       "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
       "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"}));
  if (init.exit_code != 0) {
    return absl::InternalError(absl::StrCat("initdb: ", init.err, init.out));
  }
  pg->port_ = UnusedLoopbackPort();
  if (pg->port_ == 0) return absl::InternalError("no free loopback port");
  if (absl::Status up = pg->Launch(); !up.ok()) return up;
  absl::StatusOr<std::string> created = pg->CreateDatabase(kDatabase);
  if (!created.ok()) return created.status();
  pg->url_ = *created;
  return pg;
}

ThrowawayPostgres& ThrowawayPostgres::Shared() {
  static const std::unique_ptr<ThrowawayPostgres> server = [] {
    absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> started = Start();
    if (!started.ok()) {
      std::fprintf(stderr, "no PostgreSQL for the test: %s\n",
                   started.status().ToString().c_str());
      std::abort();
    }
    return *std::move(started);
  }();
  return *server;
}

const char* ThrowawayPostgres::password() { return kPassword; }

absl::StatusOr<std::string> ThrowawayPostgres::CreateDatabase(
    const std::string& name) {
  const std::string admin_url = absl::StrCat(
      "postgres://", kUser, ":", kPassword, "@127.0.0.1:", port_, "/postgres");
  PGconn* conn = PQconnectdb(admin_url.c_str());
  absl::Status created =
      PQstatus(conn) == CONNECTION_OK
          ? Exec(conn, absl::StrCat("CREATE DATABASE \"", name, "\""))
          : absl::InternalError(PQerrorMessage(conn));
  PQfinish(conn);
  if (!created.ok()) return created;
  return absl::StrCat("postgres://", kUser, ":", kPassword,
                      "@127.0.0.1:", port_, "/", name);
}

absl::Status ThrowawayPostgres::Launch() {
  server_ = std::make_unique<ChildProcess>(
      AsServerUser(run_as_, {bin_dir_ + "/postgres", "-D", dir_ + "/data", "-p",
                             std::to_string(port_), "-k", dir_, "-c",
                             "listen_addresses=127.0.0.1", "-c", "fsync=on"}),
      dir_ + "/server.log");
  return WaitUntilReady();
}

absl::Status ThrowawayPostgres::WaitUntilReady() {
  const std::string probe =
      absl::StrCat("host=127.0.0.1 port=", port_, " dbname=postgres");
  for (int i = 0; i < 300; ++i) {
    if (PQping(probe.c_str()) == PQPING_OK) return absl::OkStatus();
    int status = 0;
    if (waitpid(server_->pid(), &status, WNOHANG) == server_->pid()) {
      server_->Forget();
      server_.reset();
      return absl::UnavailableError(absl::StrCat(
          "PostgreSQL exited at start; see ", dir_, "/server.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "PostgreSQL did not start in 15 s; see ", dir_, "/server.log"));
}

namespace {

// SIGKILLs every process whose parent is `parent` (a server's backends).
void KillChildrenOf(pid_t parent) {
  std::error_code ignored;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...: comm may hold spaces, so after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) ::kill(std::stoi(name), SIGKILL);
  }
}

}  // namespace

absl::Status ThrowawayPostgres::Stop(int signal) {
  if (server_ == nullptr) return absl::OkStatus();
  // A crash takes the backends with it: left alone, they would answer their
  // sessions a little longer after the postmaster died.
  if (signal == SIGKILL) KillChildrenOf(server_->pid());
  server_->Stop(signal);
  server_.reset();
  return absl::OkStatus();
}

absl::Status ThrowawayPostgres::Restart() {
  if (server_ != nullptr) return absl::FailedPreconditionError("running");
  // After a SIGKILL the old server's backends notice it died and exit; until
  // they have, a new server refuses the shared memory they still hold.
  absl::Status up;
  for (int attempt = 0; attempt < 10; ++attempt) {
    up = Launch();
    if (up.ok()) return up;
    (void)Stop(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return up;
}

ThrowawayPostgres::~ThrowawayPostgres() {
  (void)Stop(SIGINT);
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

}  // namespace loan_gateway::testing
