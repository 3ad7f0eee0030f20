#include "transport/bounded_acceptor.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "log/json_log.h"
#include "threads/thread_name.h"

namespace loan_gateway {
namespace {

constexpr int kBacklog = 1024;
// A log line per kind of trouble at most this often: a flood must not turn
// into a flood of log lines.
constexpr absl::Duration kLogEvery = absl::Seconds(10);

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

uint16_t PortOf(const sockaddr_storage& addr) {
  return ntohs(addr.ss_family == AF_INET6
                   ? reinterpret_cast<const sockaddr_in6&>(addr).sin6_port
                   : reinterpret_cast<const sockaddr_in&>(addr).sin_port);
}

// The address the self-check connects from: the listener's own address, or
// loopback when it listens on every address; port 0.
sockaddr_storage SelfCheckAddress(sockaddr_storage addr) {
  if (addr.ss_family == AF_INET6) {
    auto& a6 = reinterpret_cast<sockaddr_in6&>(addr);
    if (IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr)) a6.sin6_addr = in6addr_loopback;
    a6.sin6_port = 0;
  } else {
    auto& a4 = reinterpret_cast<sockaddr_in&>(addr);
    if (a4.sin_addr.s_addr == htonl(INADDR_ANY)) {
      a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    a4.sin_port = 0;
  }
  return addr;
}

void SetPort(sockaddr_storage& addr, int port) {
  const uint16_t net = htons(static_cast<uint16_t>(port));
  if (addr.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(addr).sin6_port = net;
  } else {
    reinterpret_cast<sockaddr_in&>(addr).sin_port = net;
  }
}

bool SameHost(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
         reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
}

absl::StatusOr<addrinfo*> Resolve(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address must be host:port, got ", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                           service.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve ", listen, ": ", gai_strerror(rc)));
  }
  return found;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BoundedAcceptor>> BoundedAcceptor::Listen(
    AcceptorOptions options) {
  absl::StatusOr<addrinfo*> found = Resolve(options.listen);
  if (!found.ok()) return found.status();
  const int fd = socket((*found)->ai_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(*found);
    return Errno("socket");
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = bind(fd, (*found)->ai_addr, (*found)->ai_addrlen) == 0;
  freeaddrinfo(*found);
  if (!bound || listen(fd, kBacklog) != 0) {
    absl::Status status =
        Errno(absl::StrCat("cannot listen on ", options.listen));
    close(fd);
    return status;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<BoundedAcceptor>(new BoundedAcceptor(
      std::move(options), fd, PortOf(addr), SelfCheckAddress(addr), len));
}

BoundedAcceptor::BoundedAcceptor(AcceptorOptions options, int listener_fd,
                                 int port, sockaddr_storage self_check_addr,
                                 socklen_t addr_len)
    : options_(std::move(options)),
      listener_fd_(listener_fd),
      port_(port),
      self_check_addr_(self_check_addr),
      addr_len_(addr_len) {}

BoundedAcceptor::~BoundedAcceptor() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  close(listener_fd_);
}

void BoundedAcceptor::Start(Handoff handoff) {
  handoff_ = std::move(handoff);
  thread_ = std::thread([this] {
    NameThisThread("lg-accept");
    Loop();
  });
}

void BoundedAcceptor::Loop() {
  pollfd pfd{.fd = listener_fd_, .events = POLLIN, .revents = 0};
  while (!stop_) {
    // A short timeout: stop_ is seen promptly and closed connections are
    // swept even when nobody connects.
    const bool ready = !paused_ && poll(&pfd, 1, 100) > 0;
    if (!ready || paused_) {
      if (paused_) absl::SleepFor(absl::Milliseconds(20));
      SweepClosed();
      continue;
    }
    AcceptOne();
  }
}

void BoundedAcceptor::AcceptOne() {
  const int fd =
      accept4(listener_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
        errno == ECONNABORTED) {
      return;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for descriptors or memory to
    // come back; the pending connection stays queued. Never give up.
    ++accept_failures_;
    if (absl::Now() - last_failure_log_ > kLogEvery) {
      last_failure_log_ = absl::Now();
      LogLine("warn", "accept_failed")
          .Str("error", std::strerror(errno))
          .Int("port", port_)
          .Int("failures_total", accept_failures_.load())
          .Emit();
    }
    SweepClosed();
    absl::SleepFor(options_.exhausted_backoff);
    return;
  }
  if (IsSelfCheck(fd)) {
    close(fd);
    return;
  }
  if (static_cast<int>(handed_.size()) >= options_.max_connections) {
    SweepClosed();
  }
  if (static_cast<int>(handed_.size()) >= options_.max_connections) {
    Refuse(fd);
    return;
  }
  // gRPC sets TCP_NODELAY on the connections it accepts itself, not on
  // those handed to it: without it, Nagle holds a response's last frames
  // back until the caller acknowledges the first ones.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct stat st {};
  if (fstat(fd, &st) == 0) handed_[fd] = st.st_ino;
  open_connections_ = static_cast<int64_t>(handed_.size());
  handoff_(listener_fd_, fd);
}

void BoundedAcceptor::Refuse(int fd) {
  ++refused_total_;  // Counted before the peer can see the refusal.
  close(fd);
  if (absl::Now() - last_refusal_log_ > kLogEvery) {
    last_refusal_log_ = absl::Now();
    LogLine("warn", "connection_refused")
        .Str("reason", "connection limit reached")
        .Int("port", port_)
        .Int("max_connections", options_.max_connections)
        .Int("refused_total", refused_total_.load())
        .Emit();
  }
}

void BoundedAcceptor::SweepClosed() {
  for (auto it = handed_.begin(); it != handed_.end();) {
    struct stat st {};
    const bool same = fstat(it->first, &st) == 0 && S_ISSOCK(st.st_mode) &&
                      st.st_ino == it->second;
    it = same ? std::next(it) : handed_.erase(it);
  }
  open_connections_ = static_cast<int64_t>(handed_.size());
}

bool BoundedAcceptor::IsSelfCheck(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
      !SameHost(peer, self_check_addr_)) {
    return false;
  }
  absl::MutexLock lock(&mu_);
  auto it = self_checks_.find(PortOf(peer));
  if (it == self_checks_.end()) return false;
  it->second = true;
  return true;
}

std::optional<bool> BoundedAcceptor::SelfCheck(absl::Duration timeout) {
  const int fd = socket(self_check_addr_.ss_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;  // No descriptor: says nothing of the loop.
  sockaddr_storage from = self_check_addr_;
  sockaddr_storage to = self_check_addr_;
  SetPort(to, port_);
  socklen_t len = addr_len_;
  // Bound first, so the loop knows the port before the connection arrives.
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), addr_len_) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&from), &len) != 0) {
    close(fd);
    return std::nullopt;
  }
  const uint16_t port = PortOf(from);
  {
    absl::MutexLock lock(&mu_);
    self_checks_[port] = false;
  }
  // Its result does not matter: whether the loop takes it is the check.
  (void)connect(fd, reinterpret_cast<sockaddr*>(&to), addr_len_);
  bool seen = false;
  {
    absl::MutexLock lock(&mu_);
    auto accepted = [this, port]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return self_checks_[port];
    };
    seen = mu_.AwaitWithTimeout(absl::Condition(&accepted), timeout);
    self_checks_.erase(port);
  }
  close(fd);
  return seen;
}

ListenerWatchdog::ListenerWatchdog(WatchThread& watch,
                                   BoundedAcceptor& acceptor,
                                   absl::Duration every, int failures,
                                   std::function<void()> on_stuck)
    : acceptor_(acceptor),
      every_(every),
      failures_(failures),
      on_stuck_(std::move(on_stuck)),
      check_(
          watch,
          [this] {
            CheckOnce();
            return every_;
          },
          every) {}

void ListenerWatchdog::CheckOnce() {
  const std::optional<bool> accepted = acceptor_.SelfCheck(every_);
  if (!accepted.has_value()) return;  // Could not try: no verdict.
  in_a_row_ = *accepted ? 0 : in_a_row_ + 1;
  if (!*accepted) {
    LogLine("warn", "listener_self_check_failed")
        .Int("port", acceptor_.port())
        .Int("failures_in_a_row", in_a_row_)
        .Emit();
  }
  if (in_a_row_ == failures_) {
    LogLine("error", "grpc_listener_stuck")
        .Int("port", acceptor_.port())
        .Str("effect", "exiting so that the supervisor restarts the gateway")
        .Emit();
    on_stuck_();
  }
}

}  // namespace loan_gateway
