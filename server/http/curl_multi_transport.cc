#include "http/curl_multi_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "threads/thread_name.h"

namespace loan_gateway {

struct CurlMultiTransport::Transfer {
  HttpRequest request;
  std::function<void(HttpResult)> done;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  size_t body_offset = 0;
  bool body_delivered = false;  // The read callback has reached the end once.
  size_t max_body_bytes = 0;
  bool request_left = false;  // libcurl reported request headers going out.
  bool body_too_large = false;
  // The reused connection had something unread before anything was sent
  // (the server's TLS close_notify or FIN): the transfer was stopped there
  // and goes again, once, on a fresh connection.
  bool stale_connection = false;
  bool fresh_connect = false;
  absl::Time started;
  HttpResult result;
  char error[CURL_ERROR_SIZE] = {};
};

namespace {

// All active transfers, touched only by the loop thread.
thread_local std::set<void*>* active_transfers = nullptr;
// Every socket libcurl has open (connections it may reuse), with its local
// port once the kernel gave it one (0 before): loop thread only.
thread_local std::map<curl_socket_t, uint16_t>* open_sockets = nullptr;

// The socket's local port, 0 while it has none.
uint16_t LocalPort(curl_socket_t socket) {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(socket, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return 0;
  }
  return ntohs(local.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                   : reinterpret_cast<sockaddr_in&>(local).sin_port);
}

size_t ReadBody(char* buffer, size_t size, size_t items, void* user) {
  auto* t = static_cast<CurlMultiTransport::Transfer*>(user);
  const std::string& body = t->request.body;
  // Asked for the body again after it was all handed over: libcurl is
  // resending on a fresh connection without rewinding. Refuse.
  if (t->body_delivered) return CURL_READFUNC_ABORT;
  const size_t n = std::min(size * items, body.size() - t->body_offset);
  if (t->body_offset + n == body.size()) t->body_delivered = true;
  std::memcpy(buffer, body.data() + t->body_offset, n);
  t->body_offset += n;
  return n;
}

// Refusing to rewind is what stops libcurl from silently resending a body.
int RefuseRewind(void*, curl_off_t, int) { return CURL_SEEKFUNC_FAIL; }

size_t WriteBody(char* data, size_t size, size_t items, void* user) {
  auto* t = static_cast<CurlMultiTransport::Transfer*>(user);
  const size_t n = size * items;
  if (t->result.body.size() + n > t->max_body_bytes) {
    t->body_too_large = true;
    return 0;  // Aborts the transfer; the request was sent, so kMaybeSent.
  }
  t->result.body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t items, void* user) {
  auto* t = static_cast<CurlMultiTransport::Transfer*>(user);
  const absl::string_view line(data, size * items);
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    t->result.headers[name] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * items;
}

// Watches what libcurl sends. The content (which holds the API key header)
// is never looked at or logged; only the fact that headers went out matters.
int WatchTraffic(CURL*, curl_infotype type, char*, size_t, void* user) {
  if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT) {
    static_cast<CurlMultiTransport::Transfer*>(user)->request_left = true;
  }
  return 0;
}

// Whether the transfer's connection speaks HTTP/2 (ALPN chose "h2"). There,
// bytes waiting on a reused connection are mostly the answers of its other
// streams, not a sign of a dead connection; an end of stream or an error
// still is. (libcurl reads an idle connection's frames, a GOAWAY included,
// before it reuses it, but not a busy one's: a stream opened there before a
// GOAWAY is read is refused, and ends kMaybeSent, as no rewind is allowed.)
bool Multiplexed(CURL* easy) {
  curl_tlssessioninfo* tls = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &tls) != CURLE_OK ||
      tls == nullptr || tls->backend != CURLSSLBACKEND_OPENSSL ||
      tls->internals == nullptr) {
    return false;
  }
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(static_cast<SSL*>(tls->internals), &protocol, &length);
  return length == 2 && std::memcmp(protocol, "h2", 2) == 0;
}

// Called once the connection is ready and before any byte of the request is
// sent. An idle kept-alive connection whose server has closed it may still
// pass libcurl's own liveness check (a TLS close_notify is data, not EOF):
// the request would be written into a dead connection and, with nothing
// read back, end "may have been sent". Anything readable on a reused, idle
// connection means the server has spoken out of turn: stop here, provably
// unsent, and go again on a fresh connection.
int CheckReusedConnection(void* user, char*, char*, int, int local_port) {
  auto* t = static_cast<CurlMultiTransport::Transfer*>(user);
  long new_connections = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &new_connections) !=
          CURLE_OK ||
      new_connections > 0 || open_sockets == nullptr) {
    return CURL_PREREQFUNC_OK;
  }
  // libcurl does not name the socket of a reused connection; its local port
  // finds it among the ones it opened through us (each socket's port asked
  // of the kernel once: a getsockname for every open socket was a call's
  // worth of system calls on each send).
  for (auto& [socket, port] : *open_sockets) {
    if (port == 0) port = LocalPort(socket);
    if (port != local_port) continue;
    pollfd pfd{.fd = socket, .events = POLLIN | POLLRDHUP, .revents = 0};
    if (poll(&pfd, 1, 0) == 0) return CURL_PREREQFUNC_OK;
    const bool closing = (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    if (!closing && Multiplexed(t->easy)) return CURL_PREREQFUNC_OK;
    t->stale_connection = true;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

curl_socket_t OpenSocket(void*, curlsocktype, curl_sockaddr* address) {
  const curl_socket_t socket = ::socket(
      address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (socket != CURL_SOCKET_BAD && open_sockets) {
    open_sockets->insert_or_assign(socket, 0);
  }
  return socket;
}

int CloseSocket(void*, curl_socket_t socket) {
  if (open_sockets) open_sockets->erase(socket);
  return ::close(socket);
}

}  // namespace

CurlMultiTransport::CurlMultiTransport(CurlTransportOptions options)
    : options_(std::move(options)),
      multi_(curl_multi_init()),
      share_(curl_share_init()) {
  // One thread uses the share: no lock callbacks are needed.
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  const long connections = static_cast<long>(options_.max_connections);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, connections);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, connections);
  thread_ = std::thread([this] {
    NameThisThread("lg-http");
    Loop();
  });
}

CurlMultiTransport::~CurlMultiTransport() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
  thread_.join();
  curl_multi_cleanup(multi_);
  curl_share_cleanup(share_);
}

void CurlMultiTransport::Refuse(std::unique_ptr<Transfer> transfer,
                                std::string why, bool queue_full) {
  transfer->result.delivery = Delivery::kNotSent;
  transfer->result.error = std::move(why);
  transfer->result.queue_full = queue_full;
  transfer->result.elapsed = absl::Now() - transfer->started;
  transfer->done(std::move(transfer->result));
}

void CurlMultiTransport::Send(HttpRequest request,
                              std::function<void(HttpResult)> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  transfer->started = absl::Now();
  transfer->max_body_bytes = options_.max_body_bytes;
  std::string refused;
  bool queue_full = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused = "HTTP transport is shutting down";
    } else if (queued_ >= options_.queue_limit) {
      queue_full = true;
      refused = absl::StrCat(queued_,
                             " requests already wait for an upstream "
                             "connection (the queue's limit)");
    } else {
      ++queued_;
      pending_.push_back(std::move(transfer));
    }
  }
  if (!refused.empty()) {
    Refuse(std::move(transfer), std::move(refused), queue_full);
    return;
  }
  curl_multi_wakeup(multi_);
}

// Hands waiting transfers to libcurl while the pool has room, reads first,
// then the oldest.
// One that waited longer than its whole timeout is refused unsent.
void CurlMultiTransport::StartPending() {
  std::deque<std::unique_ptr<Transfer>> arrived;
  {
    absl::MutexLock lock(&mu_);
    arrived.swap(pending_);
  }
  for (auto& t : arrived) {
    // Reads (Binance's time, the probe, reconciliation's records) go first:
    // behind thousands of borrows the clock would go stale and refuse them
    // all. They are few, and none moves money.
    if (t->request.method == HttpRequest::Method::kGet) {
      waiting_.push_front(std::move(t));
    } else {
      waiting_.push_back(std::move(t));
    }
  }
  const absl::Time now = absl::Now();
  while (!waiting_.empty() &&
         active_transfers->size() < options_.max_connections) {
    std::unique_ptr<Transfer> t = std::move(waiting_.front());
    waiting_.pop_front();
    {
      absl::MutexLock lock(&mu_);
      --queued_;
    }
    if (now - t->started > t->request.timeout) {
      std::string why = absl::StrCat("no upstream connection was free within ",
                                     absl::FormatDuration(t->request.timeout));
      Refuse(std::move(t), std::move(why), /*queue_full=*/false);
      continue;
    }
    Start(t.release());
  }
}

void CurlMultiTransport::Start(Transfer* t) {
  CURL* easy = curl_easy_init();
  t->easy = easy;
  curl_easy_setopt(easy, CURLOPT_SHARE, share_);
  curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(
      easy, CURLOPT_TIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(t->request.timeout)));
  curl_easy_setopt(
      easy, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);  // Feeds WatchTraffic only.
  curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, WatchTraffic);
  curl_easy_setopt(easy, CURLOPT_DEBUGDATA, t);
  curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, CheckReusedConnection);
  curl_easy_setopt(easy, CURLOPT_PREREQDATA, t);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, CloseSocket);
  if (options_.http2) {
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    // While the first connection's protocol is unknown, wait for it rather
    // than open one for each call of a burst: over HTTP/2 they all share it.
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  }
  if (t->fresh_connect) curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
  t->header_list = curl_slist_append(t->header_list, "Expect:");
  for (const std::string& h : t->request.headers) {
    t->header_list = curl_slist_append(t->header_list, h.c_str());
  }
  if (t->request.method == HttpRequest::Method::kPost) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t->request.body.size()));
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(easy, CURLOPT_READDATA, t);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, RefuseRewind);
    t->header_list = curl_slist_append(
        t->header_list, "Content-Type: application/x-www-form-urlencoded");
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
  active_transfers->insert(t);
  curl_multi_add_handle(multi_, easy);
}

void CurlMultiTransport::Complete(Transfer* t, CURLcode code) {
  if (code != CURLE_OK && t->stale_connection && !t->request_left &&
      !t->fresh_connect) {
    Retry(t);  // Nothing left: the same request, once, on a new connection.
    return;
  }
  HttpResult& r = t->result;
  r.elapsed = absl::Now() - t->started;
  if (code == CURLE_OK) {
    r.delivery = Delivery::kCompleted;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    // Only a request whose headers never went out is provably unsent.
    r.delivery = t->request_left || code == CURLE_SEND_FAIL_REWIND
                     ? Delivery::kMaybeSent
                     : Delivery::kNotSent;
    r.error = t->body_too_large
                  ? "response body too large"
                  : absl::StrCat(curl_easy_strerror(code), " (curl ",
                                 static_cast<int>(code), ")");
    r.body.clear();
  }
  curl_multi_remove_handle(multi_, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->header_list);
  active_transfers->erase(t);
  std::unique_ptr<Transfer> owned(t);
  owned->done(std::move(owned->result));
}

void CurlMultiTransport::Retry(Transfer* t) {
  curl_multi_remove_handle(multi_, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->header_list);
  active_transfers->erase(t);
  t->easy = nullptr;
  t->header_list = nullptr;
  t->body_offset = 0;
  t->body_delivered = false;
  t->fresh_connect = true;
  {
    absl::MutexLock lock(&mu_);
    ++queued_;
  }
  waiting_.push_front(std::unique_ptr<Transfer>(t));  // First in line.
}

void CurlMultiTransport::FinishDone() {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    Complete(t, msg->data.result);
  }
}

void CurlMultiTransport::Loop() {
  std::set<void*> active;
  active_transfers = &active;
  std::map<curl_socket_t, uint16_t> sockets;
  open_sockets = &sockets;
  while (true) {
    StartPending();
    curl_multi_perform(multi_, &running_);
    FinishDone();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    // A finished transfer freed a connection a waiting one can take now.
    const bool startable =
        !waiting_.empty() && active.size() < options_.max_connections;
    curl_multi_poll(multi_, nullptr, 0, startable ? 0 : 1000, nullptr);
  }
  {
    absl::MutexLock lock(&mu_);
    for (auto& t : pending_) waiting_.push_back(std::move(t));
    pending_.clear();
    queued_ = 0;
  }
  while (!active.empty()) {
    auto* t = static_cast<Transfer*>(*active.begin());
    Complete(
        t, t->request_left ? CURLE_ABORTED_BY_CALLBACK : CURLE_COULDNT_CONNECT);
  }
  // Queued before the stop, and never handed to libcurl: unsent.
  for (auto& t : waiting_) {
    Refuse(std::move(t), "HTTP transport is shutting down", false);
  }
  waiting_.clear();
  active_transfers = nullptr;
  open_sockets = nullptr;
}

}  // namespace loan_gateway
