#ifndef LOAN_GATEWAY_TESTS_INTEGRATION_HTTP2_FRONT_H_
#define LOAN_GATEWAY_TESTS_INTEGRATION_HTTP2_FRONT_H_

#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

namespace loan_gateway::testing {

// One request as the front logged it.
struct FrontRequest {
  long connection = 0;   // nginx's connection number: one per TCP connection.
  std::string protocol;  // "HTTP/2.0" or "HTTP/1.1".
  int status = 0;
  std::string uri;
};

// Debian's nginx in front of the Binance fake: HTTP/2 over TLS to the
// gateway (ALPN offers "h2", as a front end of Binance's API may), HTTP/1.1 to
// the fake behind it. libcurl then speaks HTTP/2 and multiplexes: the
// gateway's upstream transport meets what it meets in production, and the
// fake still decides every answer.
class Http2Front {
 public:
  // `dir`: the test's directory (the front's files go in dir/front);
  // `tls_dir`: the fake's server.pem and server.key, which the front
  // presents; `upstream`: the fake's https URL; `idle_timeout_s`: after this
  // long without a stream the front closes a connection (GOAWAY).
  // `requests_per_connection`: after this many requests the front closes a
  // connection (GOAWAY over HTTP/2, "Connection: close" over HTTP/1.1).
  Http2Front(const std::string& dir, const std::string& tls_dir,
             const std::string& upstream, int idle_timeout_s,
             int requests_per_connection);
  Http2Front(const Http2Front&) = delete;
  Http2Front& operator=(const Http2Front&) = delete;

  const std::string& url() const { return url_; }
  // The front's worker dies at once (SIGKILL): every connection to it
  // drops, streams open on them included; the master starts a new worker on
  // the same port, so a request sent again would still arrive.
  void KillWorker();
  // Every request so far, in the order the front finished them.
  std::vector<FrontRequest> Requests() const;

 private:
  std::string dir_;
  std::string url_;
  std::unique_ptr<ChildProcess> nginx_;
};

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_INTEGRATION_HTTP2_FRONT_H_
