#ifndef LOAN_GATEWAY_SERVER_TESTING_TEST_DOUBLES_H_
#define LOAN_GATEWAY_SERVER_TESTING_TEST_DOUBLES_H_

// Test doubles for the interfaces the gateway puts between itself and time,
// the network and keys. Unit tests only; integration tests use the real ones.

#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "clock/clock.h"
#include "clock/scheduler.h"
#include "executor/durable_executor.h"
#include "http/http_transport.h"
#include "sign/signer.h"

namespace loan_gateway::test_doubles {

// A clock that moves only when the test moves it.
class ManualClock : public Clock {
 public:
  explicit ManualClock(
      absl::Time start = absl::FromUnixMillis(1'700'000'000'000))
      : now(start) {}
  absl::Time Now() const override { return now; }
  absl::Time now;
};

// Keeps delayed tasks until the test runs them.
class ManualScheduler : public Scheduler {
 public:
  void RunAfter(absl::Duration delay, std::function<void()> task) override {
    delays.push_back(delay);
    tasks.push_back(std::move(task));
  }
  // Runs (and forgets) every task scheduled so far.
  void RunAll() {
    std::vector<std::function<void()>> due;
    due.swap(tasks);
    for (auto& task : due) task();
  }
  std::vector<absl::Duration> delays;
  std::vector<std::function<void()>> tasks;
};

// Answers each request, synchronously, with the next scripted result and
// records what was sent. `on_send` may advance a clock to simulate latency.
class ScriptedTransport : public HttpTransport {
 public:
  void Send(HttpRequest request,
            std::function<void(HttpResult)> done) override {
    sent.push_back(request);
    if (on_send) on_send();
    HttpResult r = script.front();
    script.pop_front();
    done(r);
  }
  std::deque<HttpResult> script;
  std::vector<HttpRequest> sent;
  std::function<void()> on_send;
};

// Keeps posted tasks until the test runs them, on the test's own thread: the
// stages of a call then run in a known order, and nothing needs a sleep.
// As a journal's executor, every write is durable when it returns (no
// groups): AfterCommit runs its step at once, unless the test holds commits
// back (`hold_commits`) to see what waits for one, then ends it (Commit).
class ManualExecutor : public DurableExecutor {
 public:
  void AfterCommit(std::function<void(const absl::Status&)> then) override {
    if (hold_commits) {
      uncommitted.push_back(std::move(then));
      return;
    }
    then(absl::OkStatus());
  }
  // The held group's commit, with `result`: runs what waited for it.
  void Commit(const absl::Status& result = absl::OkStatus()) {
    std::vector<std::function<void(const absl::Status&)>> waiting;
    waiting.swap(uncommitted);
    for (auto& then : waiting) then(result);
  }
  bool hold_commits = false;
  std::vector<std::function<void(const absl::Status&)>> uncommitted;
  void Post(std::function<void()> task) override {
    tasks.push_back(std::move(task));
  }
  // Runs tasks (and those they post) until none is left; how many ran.
  int RunUntilIdle() {
    int ran = 0;
    while (!tasks.empty()) {
      std::function<void()> task = std::move(tasks.front());
      tasks.pop_front();
      task();
      ++ran;
    }
    return ran;
  }
  std::deque<std::function<void()>> tasks;
};

// A signer whose signature is a constant: for tests about everything else.
class ConstantSigner : public Signer {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view) const override {
    return "sig";
  }
  KeyType type() const override { return KeyType::kHmacSha256; }
};

// A whole file's bytes (test data), empty when unreadable.
inline std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

inline HttpResult Answer(long status, std::string body,
                         std::map<std::string, std::string> headers = {}) {
  return {Delivery::kCompleted, status, std::move(headers),
          std::move(body),      "",     {}};
}

}  // namespace loan_gateway::test_doubles

#endif  // LOAN_GATEWAY_SERVER_TESTING_TEST_DOUBLES_H_
