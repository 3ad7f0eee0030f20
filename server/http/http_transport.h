#ifndef LOAN_GATEWAY_SERVER_HTTP_HTTP_TRANSPORT_H_
#define LOAN_GATEWAY_SERVER_HTTP_HTTP_TRANSPORT_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace loan_gateway {

struct HttpRequest {
  enum class Method { kGet, kPost };
  Method method = Method::kGet;
  std::string url;  // Never contains secrets: params go in `body`.
  std::vector<std::string> headers;  // "Name: value".
  std::string body;  // For POST: application/x-www-form-urlencoded.
  absl::Duration timeout = absl::Seconds(10);
};

// What the transport knows about whether the request left this process.
enum class Delivery {
  kCompleted,  // A full HTTP response arrived.
  kNotSent,    // Failed before any request byte was sent (DNS, connect, TLS).
  kMaybeSent,  // Failed after the request may have reached the server
               // (timeout, reset, refused resend): its effect is unknown.
};

struct HttpResult {
  Delivery delivery = Delivery::kMaybeSent;
  long status = 0;                             // HTTP status when kCompleted.
  std::map<std::string, std::string> headers;  // Lowercased names.
  std::string body;
  std::string error;  // Transport error text (never holds the request).
  absl::Duration elapsed;
  // kNotSent because no room was left to wait for a connection: the
  // caller is refused at once rather than left to time out.
  bool queue_full = false;
};

// Sends HTTP requests asynchronously. `done` runs exactly once, on the
// transport's own thread, or within Send itself when the request is refused
// at once (the queue is full, the transport is stopping); it must not block.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual void Send(HttpRequest request,
                    std::function<void(HttpResult)> done) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_HTTP_HTTP_TRANSPORT_H_
