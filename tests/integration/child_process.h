#ifndef LOAN_GATEWAY_TESTS_INTEGRATION_CHILD_PROCESS_H_
#define LOAN_GATEWAY_TESTS_INTEGRATION_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace loan_gateway::testing {

// A real child process whose stdout and stderr go to `log_path`.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv,
               const std::string& log_path);
  ~ChildProcess();  // SIGTERM, then SIGKILL after 5 s.
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends `signal` and waits; returns the exit status as from waitpid.
  int Stop(int signal);
  bool running() const { return pid_ > 0; }
  // The process was reaped elsewhere.
  void Forget() { pid_ = -1; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Runs a command to completion, capturing stdout and stderr separately.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

std::string ReadWholeFile(const std::string& path);

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_INTEGRATION_CHILD_PROCESS_H_
