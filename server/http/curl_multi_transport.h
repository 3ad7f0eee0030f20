#ifndef LOAN_GATEWAY_SERVER_HTTP_CURL_MULTI_TRANSPORT_H_
#define LOAN_GATEWAY_SERVER_HTTP_CURL_MULTI_TRANSPORT_H_

#include <curl/curl.h>

#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "http/http_transport.h"

namespace loan_gateway {

struct CurlTransportOptions {
  std::string ca_file;  // Empty: the system's CA bundle.
  absl::Duration connect_timeout = absl::Seconds(3);
  size_t max_body_bytes = 1 << 20;
  // Requests in libcurl at once, so connections to one host at most: the
  // rest wait in a queue (a few KB each) for one to finish.
  size_t max_connections = 64;
  // Requests that may wait; beyond it Send refuses at once (queue_full).
  size_t queue_limit = 16384;
  // HTTP/2 where the upstream offers it (ALPN), calls multiplexed on one
  // connection; false: HTTP/1.1. A stream the upstream refuses (as it closes
  // a connection) ends kMaybeSent: libcurl would resend it by rewinding the
  // body, which it cannot tell from a resend after the server may have acted.
  bool http2 = false;
};

// HttpTransport on one libcurl multi handle driven by one thread: every
// request of the process shares its bounded pool of keep-alive connections
// (and TLS sessions, for the connections it opens again), requests beyond
// the pool wait in a bounded queue, and the number of threads stays
// constant however many requests are in flight.
//
// It never resends a request body: libcurl silently retries a request whose
// reused connection died before any response byte, which for a borrow would
// be a second borrow. Bodies are streamed through a read callback whose seek
// callback refuses to rewind, so such a retry fails (reported as kMaybeSent).
class CurlMultiTransport : public HttpTransport {
 public:
  explicit CurlMultiTransport(CurlTransportOptions options);
  ~CurlMultiTransport() override;  // Completes pending requests as kMaybeSent.

  void Send(HttpRequest request, std::function<void(HttpResult)> done) override;

  struct Transfer;  // One request in flight; defined in the .cc.

 private:
  void Loop();
  void StartPending();
  void Start(Transfer* transfer);
  void FinishDone();
  void Complete(Transfer* transfer, CURLcode code);
  void Retry(Transfer* transfer);
  // Completes a transfer that never reached libcurl: nothing was sent.
  static void Refuse(std::unique_ptr<Transfer> transfer, std::string why,
                     bool queue_full);

  const CurlTransportOptions options_;
  CURLM* multi_;
  CURLSH* share_;  // TLS sessions and DNS answers, for every transfer.
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> pending_ ABSL_GUARDED_BY(mu_);
  // Sent and not yet handed to libcurl (pending_ and waiting_).
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Loop thread only: waiting for a connection, reads first, then oldest.
  std::deque<std::unique_ptr<Transfer>> waiting_;
  int running_ = 0;  // Loop thread only.
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_HTTP_CURL_MULTI_TRANSPORT_H_
