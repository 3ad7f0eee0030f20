#include "transport/bounded_acceptor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "transport/open_file_limit.h"

namespace loan_gateway {
namespace {

// Collects what the acceptor hands over; closes it all at the end.
class Handed {
 public:
  BoundedAcceptor::Handoff Handoff() {
    return [this](int, int fd) {
      absl::MutexLock lock(&mu_);
      fds_.push_back(fd);
      ++total_;
    };
  }
  int first() {
    absl::MutexLock lock(&mu_);
    return fds_.empty() ? -1 : fds_.front();
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return fds_.size();
  }
  // Waits until `n` connections have been handed over in all.
  bool AwaitAtLeast(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return total_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  void CloseAll() {
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) close(fd);
    fds_.clear();
  }
  ~Handed() { CloseAll(); }

 private:
  absl::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  size_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// True when the peer closed the connection within `timeout`.
bool ClosedByPeer(int fd, absl::Duration timeout) {
  pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
  if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0)
    return false;
  char byte;
  return read(fd, &byte, 1) == 0;
}

std::unique_ptr<BoundedAcceptor> StartAcceptor(Handed& handed,
                                               int max_connections) {
  auto acceptor = BoundedAcceptor::Listen(
      {.listen = "127.0.0.1:0", .max_connections = max_connections});
  EXPECT_TRUE(acceptor.ok()) << acceptor.status();
  (*acceptor)->Start(handed.Handoff());
  return *std::move(acceptor);
}

TEST(BoundedAcceptorTest, HandsOverConnectionsUpToTheCapAndRefusesTheRest) {
  Handed handed;
  auto acceptor = StartAcceptor(handed, 2);
  const int a = Connect(acceptor->port());
  const int b = Connect(acceptor->port());
  ASSERT_TRUE(handed.AwaitAtLeast(2, absl::Seconds(2)));
  const int c = Connect(acceptor->port());
  EXPECT_TRUE(ClosedByPeer(c, absl::Seconds(2)));
  EXPECT_EQ(acceptor->refused_total(), 1);
  EXPECT_EQ(acceptor->open_connections(), 2);
  EXPECT_FALSE(ClosedByPeer(a, absl::Milliseconds(50)));

  // Connections that finish free their places.
  handed.CloseAll();
  const int d = Connect(acceptor->port());
  EXPECT_TRUE(handed.AwaitAtLeast(3, absl::Seconds(2)));
  EXPECT_FALSE(ClosedByPeer(d, absl::Milliseconds(50)));
  for (int fd : {a, b, c, d}) close(fd);
}

// gRPC sets TCP_NODELAY only on connections it accepts itself: without it on
// the ones handed over, Nagle held a response's last frames back until the
// caller's delayed acknowledgement (a borrow's slowest answers took 40 ms).
TEST(BoundedAcceptorTest, HandsOverConnectionsWithNagleOff) {
  Handed handed;
  auto acceptor = StartAcceptor(handed, 2);
  const int a = Connect(acceptor->port());
  ASSERT_TRUE(handed.AwaitAtLeast(1, absl::Seconds(2)));
  int nodelay = 0;
  socklen_t len = sizeof(nodelay);
  ASSERT_EQ(
      getsockopt(handed.first(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_NE(nodelay, 0);
  close(a);
}

TEST(BoundedAcceptorTest, KeepsAcceptingAfterRunningOutOfDescriptors) {
  Handed handed;
  auto acceptor = StartAcceptor(handed, 1000);
  std::vector<int> clients;
  clients.reserve(10);
  for (int i = 0; i < 10; ++i) {
    clients.push_back(socket(AF_INET, SOCK_STREAM, 0));
  }
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(OpenFileCount() + 3);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(acceptor->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : clients) {
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_LT(handed.size(), clients.size());
  EXPECT_GT(acceptor->accept_failures_total(), 0);

  // Descriptors come back: every queued connection is taken, none lost.
  handed.CloseAll();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_TRUE(handed.AwaitAtLeast(clients.size(), absl::Seconds(1)));
  for (int fd : clients) close(fd);
}

TEST(BoundedAcceptorTest, SelfCheckSeesWhetherTheLoopAccepts) {
  Handed handed;
  auto acceptor = StartAcceptor(handed, 1);
  const int holder = Connect(acceptor->port());  // The cap is reached...
  ASSERT_TRUE(handed.AwaitAtLeast(1, absl::Seconds(2)));
  // ...yet the self-check, which tests the listener, still passes and is
  // never handed over.
  EXPECT_EQ(acceptor->SelfCheck(absl::Seconds(2)), true);
  EXPECT_EQ(handed.size(), 1u);
  acceptor->PauseForTest(true);
  EXPECT_EQ(acceptor->SelfCheck(absl::Milliseconds(200)), false);
  acceptor->PauseForTest(false);
  EXPECT_EQ(acceptor->SelfCheck(absl::Seconds(2)), true);
  close(holder);
}

TEST(ListenerWatchdogTest, ReportsAStuckListenerOnceAfterFailuresInARow) {
  Handed handed;
  auto acceptor = StartAcceptor(handed, 10);
  absl::Mutex mu;
  int stuck = 0;
  WatchThread watch("lg-test-watch");
  {
    ListenerWatchdog healthy(watch, *acceptor, absl::Milliseconds(30), 3, [&] {
      absl::MutexLock lock(&mu);
      ++stuck;
    });
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_EQ(stuck, 0);
  acceptor->PauseForTest(true);
  {
    ListenerWatchdog watchdog(watch, *acceptor, absl::Milliseconds(30), 3, [&] {
      absl::MutexLock lock(&mu);
      ++stuck;
    });
    absl::SleepFor(absl::Milliseconds(600));
  }
  EXPECT_EQ(stuck, 1);
}

TEST(BoundedAcceptorTest, RejectsAMalformedListenAddress) {
  EXPECT_FALSE(BoundedAcceptor::Listen({.listen = "127.0.0.1"}).ok());
  EXPECT_FALSE(BoundedAcceptor::Listen({.listen = "127.0.0.1:99999"}).ok());
}

TEST(BoundedAcceptorTest, ListensOnIpv6Loopback) {
  auto acceptor = BoundedAcceptor::Listen({.listen = "[::1]:0"});
  if (!acceptor.ok()) GTEST_SKIP() << "no IPv6 here: " << acceptor.status();
  Handed handed;
  (*acceptor)->Start(handed.Handoff());
  EXPECT_EQ((*acceptor)->SelfCheck(absl::Seconds(2)), true);
}

TEST(OpenFileLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  if (saved.rlim_max < 64) GTEST_SKIP() << "hard limit too low to lower";
  rlimit lowered = saved;
  lowered.rlim_cur = saved.rlim_max / 2;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  absl::StatusOr<OpenFileLimit> raised = RaiseOpenFileLimitToHard();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->soft_before, lowered.rlim_cur);
  EXPECT_EQ(raised->soft, saved.rlim_max);
  EXPECT_EQ(raised->hard, saved.rlim_max);
  setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_GT(OpenFileCount(), 2);
}

}  // namespace
}  // namespace loan_gateway
