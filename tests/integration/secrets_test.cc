// Where the key may not go (issue 10 §4): a key file other users can read is
// refused, and the running gateway cannot be read by another process of its
// user. (Every GatewayEnv also scans all output for the key when it ends.)
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

TEST(SecretsTest, AKeyFileOpenToOtherUsersFailsTheStart) {
  GatewayEnv env;
  const std::string key = env.dir() + "/private_key";
  std::filesystem::permissions(key, static_cast<std::filesystem::perms>(0644));
  CommandResult start = RunCommand(
      {GATEWAY_BINARY, "--listen=127.0.0.1:0", "--insecure_plaintext",
       "--metrics_listen=", "--upstream_base_urls=" + env.fake_url(),
       "--upstream_ca_file=" + env.dir() + "/tls/ca.pem",
       "--api_key_file=" + env.dir() + "/api_key", "--private_key_file=" + key,
       "--journal_path=" + env.dir() + "/other-journal.db",
       "--create_journal"});
  EXPECT_EQ(start.exit_code, 2) << start.out << start.err;
  EXPECT_TRUE(absl::StrContains(
      start.out,
      absl::StrCat("secret file ", key, " is open to other users (mode 0644)")))
      << start.out;
  env.ScanAlso(start.out + start.err);
  // Group read stays allowed (Kubernetes mounts Secrets 0440 with fsGroup).
  std::filesystem::permissions(key, static_cast<std::filesystem::perms>(0440));
  env.RestartGateway();
  institutional_loan::v1::BorrowResponse response;
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &response).ok());
}

// Whether a process running as `uid` can open /proc/PID/<file>: a child
// takes that uid (the test may run as root) and tries.
bool CanOpenAs(uid_t uid, pid_t pid, const char* file) {
  const std::string path = absl::StrCat("/proc/", pid, "/", file);
  const pid_t child = fork();
  if (child == 0) {
    if (setgid(uid) != 0 || setuid(uid) != 0) _exit(2);
    const int fd = open(path.c_str(), O_RDONLY);
    _exit(fd >= 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 2);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(SecretsTest, NoOtherProcessOfTheUserCanReadTheGatewaysMemory) {
  constexpr int kNobody = 65534;
  GatewayEnv env({.run_as_uid_if_root = kNobody});
  const uid_t user = geteuid() == 0 ? kNobody : geteuid();
  // Same user, no privileges: without the gateway making itself
  // non-dumpable, both opens would succeed.
  for (const char* file : {"mem", "environ"}) {
    EXPECT_FALSE(CanOpenAs(user, env.gateway_pid(), file)) << file;
  }
  // And no core dump at all.
  const std::string limits =
      ReadWholeFile(absl::StrCat("/proc/", env.gateway_pid(), "/limits"));
  EXPECT_TRUE(absl::StrContains(limits, "Max core file size        0"))
      << limits;
  EXPECT_FALSE(absl::StrContains(env.GatewayLog(), "process_hardening"))
      << "hardening failed: " << env.GatewayLog();
  institutional_loan::v1::BorrowResponse response;
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &response).ok());
}

}  // namespace
}  // namespace loan_gateway::testing
