#ifndef LOAN_GATEWAY_SERVER_TRANSPORT_BOUNDED_ACCEPTOR_H_
#define LOAN_GATEWAY_SERVER_TRANSPORT_BOUNDED_ACCEPTOR_H_

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

struct AcceptorOptions {
  std::string listen;  // host:port, [v6 host]:port; port 0 picks a free one.
  // Connections handed over and still open; beyond it a new connection is
  // accepted and closed at once: the peer hears a refusal, not silence.
  int max_connections = 512;
  // Pause after accept fails for want of descriptors or memory.
  absl::Duration exhausted_backoff = absl::Milliseconds(50);
};

// The gRPC port's accept loop, owned by the gateway rather than by gRPC.
// gRPC 1.51's own listener stops accepting for good after one EMFILE
// (tcp_server_posix.cc gives up on the listening socket), so any peer that
// can open enough connections would take the gateway down until restarted.
// Here accept failures back off and retry, the number of open connections is
// capped below the descriptor limit, and accepted connections are handed to
// gRPC (ServerBuilder's external connection acceptor, which keeps the
// server's credentials and handshake).
class BoundedAcceptor {
 public:
  // Called on the accept thread with a connected, non-blocking socket; it
  // owns `fd` from then on.
  using Handoff = std::function<void(int listener_fd, int fd)>;

  static absl::StatusOr<std::unique_ptr<BoundedAcceptor>> Listen(
      AcceptorOptions options);
  ~BoundedAcceptor();  // Stops accepting and closes the listener.
  BoundedAcceptor(const BoundedAcceptor&) = delete;
  BoundedAcceptor& operator=(const BoundedAcceptor&) = delete;

  void Start(Handoff handoff);
  int port() const { return port_; }

  // Connects to the listener and waits until the accept loop has taken that
  // very connection. False: the listener does not accept; nullopt: no
  // descriptor to try with.
  std::optional<bool> SelfCheck(absl::Duration timeout);

  int64_t open_connections() const { return open_connections_.load(); }
  int64_t refused_total() const { return refused_total_.load(); }
  int64_t accept_failures_total() const { return accept_failures_.load(); }

  // Tests only: a loop that stops taking connections, as gRPC's did.
  void PauseForTest(bool paused) { paused_ = paused; }

 private:
  BoundedAcceptor(AcceptorOptions options, int listener_fd, int port,
                  sockaddr_storage self_check_addr, socklen_t addr_len);
  void Loop();
  void AcceptOne();
  bool IsSelfCheck(int fd);
  void SweepClosed();
  void Refuse(int fd);

  const AcceptorOptions options_;
  const int listener_fd_;
  const int port_;
  const sockaddr_storage self_check_addr_;  // Port 0: bind() picks one.
  const socklen_t addr_len_;
  Handoff handoff_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};

  // Accept thread only: descriptor -> inode of each handed-over socket. A
  // descriptor whose inode changed or that is closed is a finished connection.
  std::unordered_map<int, ino_t> handed_;
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> refused_total_{0};
  std::atomic<int64_t> accept_failures_{0};
  absl::Time last_refusal_log_ = absl::InfinitePast();
  absl::Time last_failure_log_ = absl::InfinitePast();

  absl::Mutex mu_;
  std::map<uint16_t, bool> self_checks_ ABSL_GUARDED_BY(mu_);  // port -> seen
};

// Runs BoundedAcceptor::SelfCheck every `every`; after `failures` in a row it
// logs grpc_listener_stuck and calls `on_stuck` once, so the process exits
// non-zero and its supervisor restarts it rather than living on deaf.
class ListenerWatchdog {
 public:
  // Checks on `watch`, from `every` after now.
  ListenerWatchdog(WatchThread& watch, BoundedAcceptor& acceptor,
                   absl::Duration every, int failures,
                   std::function<void()> on_stuck);

 private:
  void CheckOnce();

  BoundedAcceptor& acceptor_;
  const absl::Duration every_;
  const int failures_;
  const std::function<void()> on_stuck_;
  int in_a_row_ = 0;     // The watch thread's only.
  PeriodicCheck check_;  // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_TRANSPORT_BOUNDED_ACCEPTOR_H_
