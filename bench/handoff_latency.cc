// What one hand-off between the gateway's threads costs on this machine:
// the time from Post() to the task starting on an executor whose thread was
// idle (asleep in its wait), as a borrow meets it one caller at a time. A
// borrow crosses six of them (gRPC → journal → call pool → HTTP loop →
// journal → call pool, whose answer wakes gRPC's poller); the bare echo of
// bench/floor's A crosses none. The gateway's own executors, no hooks that
// write. Prints the median and p99 of each, in microseconds, as JSON.
//   handoff_latency [--samples 5000] [--idle_us 300]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "executor/group_commit_executor.h"
#include "executor/thread_pool_executor.h"

namespace {

using loan_gateway::Executor;

struct Figures {
  double p50_us;
  double p99_us;
};

Figures Percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

// Post → start, each after `idle` of nothing, so the thread is asleep. A
// poster that then sleeps itself lends the woken thread its own CPU; one
// that keeps running (`busy`: it spins until the task ran, as the HTTP loop
// or gRPC's poller go on with their work) makes the kernel wake it on the
// other, idle vCPU: an inter-processor interrupt, which on a virtual
// machine is an exit to the hypervisor. `post_us` is what Post() itself
// cost the poster.
struct OneWayFigures {
  Figures start;
  Figures post;
};
OneWayFigures OneWay(Executor& executor, int samples, absl::Duration idle,
                     bool busy) {
  std::vector<double> us;
  std::vector<double> post_us;
  us.reserve(samples);
  post_us.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    absl::SleepFor(idle);
    absl::Notification ran;
    std::atomic<bool> started{false};
    absl::Time started_at;
    const absl::Time posted = absl::Now();
    executor.Post([&] {
      started_at = absl::Now();
      started.store(true, std::memory_order_release);
      ran.Notify();
    });
    post_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - posted));
    if (busy) {
      while (!started.load(std::memory_order_acquire)) {
      }
    }
    ran.WaitForNotification();
    us.push_back(absl::ToDoubleMicroseconds(started_at - posted));
  }
  return {Percentiles(std::move(us)), Percentiles(std::move(post_us))};
}

// The journal → call pool → journal ping-pong of a borrow's middle: three
// hand-offs from the caller's thread and back, each to a sleeping thread.
Figures Chain(Executor& journal, Executor& calls, int samples,
              absl::Duration idle) {
  std::vector<double> us;
  us.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    absl::SleepFor(idle);
    absl::Notification done;
    const absl::Time posted = absl::Now();
    journal.Post(
        [&] { calls.Post([&] { journal.Post([&] { done.Notify(); }); }); });
    done.WaitForNotification();
    us.push_back(absl::ToDoubleMicroseconds(absl::Now() - posted));
  }
  return Percentiles(std::move(us));
}

int IntFlag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = IntFlag(argc, argv, "--samples", 5000);
  const absl::Duration idle =
      absl::Microseconds(IntFlag(argc, argv, "--idle_us", 300));
  loan_gateway::ThreadPoolExecutor calls(2, "lg-call");
  loan_gateway::GroupCommitExecutor journal(
      {.begin = [] { return absl::OkStatus(); },
       .commit = [] { return absl::OkStatus(); }});
  const OneWayFigures pool = OneWay(calls, samples, idle, /*busy=*/false);
  const OneWayFigures group = OneWay(journal, samples, idle, /*busy=*/false);
  const OneWayFigures busy = OneWay(journal, samples, idle, /*busy=*/true);
  const Figures chain = Chain(journal, calls, samples, idle);
  std::printf(
      "{\"samples\":%d,\"idle_us\":%lld,"
      "\"call_pool_p50_us\":%.1f,\"call_pool_p99_us\":%.1f,"
      "\"journal_p50_us\":%.1f,\"journal_p99_us\":%.1f,"
      "\"other_cpu_p50_us\":%.1f,\"other_cpu_p99_us\":%.1f,"
      "\"other_cpu_post_p50_us\":%.1f,\"same_cpu_post_p50_us\":%.1f,"
      "\"three_handoffs_p50_us\":%.1f,\"three_handoffs_p99_us\":%.1f}\n",
      samples, static_cast<long long>(absl::ToInt64Microseconds(idle)),
      pool.start.p50_us, pool.start.p99_us, group.start.p50_us,
      group.start.p99_us, busy.start.p50_us, busy.start.p99_us,
      busy.post.p50_us, group.post.p50_us, chain.p50_us, chain.p99_us);
  return 0;
}
