#include "metrics/metrics_http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace loan_gateway {

struct MetricsHandler {
  static MHD_Result Handle(void* self, MHD_Connection* connection,
                           const char* url, const char* method, const char*,
                           const char*, size_t*, void**) {
    const bool get = std::strcmp(method, "GET") == 0;
    const bool metrics = std::strcmp(url, "/metrics") == 0;
    std::string body = get && metrics
                           ? static_cast<MetricsHttpServer*>(self)->render_()
                           : std::string("not found: GET /metrics\n");
    MHD_Response* response = MHD_create_response_from_buffer(
        body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "Content-Type",
                            "text/plain; version=0.0.4");
    const MHD_Result rc = MHD_queue_response(
        connection, get && metrics ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND,
        response);
    MHD_destroy_response(response);
    return rc;
  }
};

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render,
    unsigned max_connections, unsigned idle_timeout_s) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535 ||
      inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) !=
          1) {
    return absl::InvalidArgumentError(
        "metrics listen address must be IPv4 host:port");
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::unique_ptr<MetricsHttpServer> server(
      new MetricsHttpServer(std::move(render)));
  // epoll, not select: select cannot watch a descriptor above 1,023, which a
  // busy process with a raised limit hands out.
  server->daemon_ = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD, 0, nullptr, nullptr,
      &MetricsHandler::Handle, server.get(), MHD_OPTION_SOCK_ADDR,
      reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_CONNECTION_LIMIT,
      max_connections, MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout_s,
      MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info ? info->port : port;
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace loan_gateway
